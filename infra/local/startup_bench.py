#!/usr/bin/env python3
"""Start-up benchmark: the Rust API Lambda binary from process start to its first answered
request, against Python's `import boto3; boto3.client("dynamodb")`, side by side in one run.

The API binary runs as in Lambda: this script is its Lambda Runtime API (the documented
`/2018-06-01/runtime/invocation/next` and `/invocation/{id}/response` endpoints), hands it one API
Gateway HTTP API event (events/apigw-http-get-row.json: GET /rows/decision_log/1 with JWT claims)
and stops the clock when the response is posted. Both sides are timed from process spawn, so
both include exec and dynamic loading. "ready" is the binary's first call for an invocation
(`/runtime/invocation/next`): its cold-start init, whatever the store.

    python3 infra/local/startup_bench.py --binary target/release/api --python .venv/bin/python --runs 20

The Lambda binaries are built without the embedded store; `--store dynamodb` runs the API
against the tables in the environment (`eval "$(.venv/bin/python infra/local/bootstrap.py …)"`
on a local moto), and `--no-python` leaves the boto3 side out.
"""
import argparse
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def api_once(binary, event_bytes, data_dir, store):
    done = threading.Event()
    result = {}

    class Runtime(http.server.BaseHTTPRequestHandler):
        served = False

        def log_message(self, *a):
            pass

        def do_GET(self):
            result.setdefault("ready", time.perf_counter())
            if self.path.endswith("/runtime/invocation/next") and not Runtime.served:
                Runtime.served = True
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", "req-1")
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 "arn:aws:lambda:eu-west-1:123456789012:function:otto-api")
                self.send_header("Content-Length", str(len(event_bytes)))
                self.end_headers()
                self.wfile.write(event_bytes)
            else:
                done.wait(10)
                self.send_response(500)
                self.end_headers()

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n)
            result["t"] = time.perf_counter()
            result["path"] = self.path
            result["body"] = body
            self.send_response(202)
            self.end_headers()
            done.set()

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env = dict(os.environ)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{srv.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "otto-api",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_GROUP_NAME": "bench",
        "OTTO_STORE": store,
        "OTTO_DATA_DIR": data_dir,
        "OTTO_STORE_ID": "demo-store",
        "RUST_LOG": "warn",
    })
    # The region of the tables in the environment (moto keeps tables per region: forcing another
    # one made every read a ResourceNotFoundException, answered as HTTP 500).
    env.setdefault("AWS_REGION", "eu-west-1")
    t0 = time.perf_counter()
    err = open(os.environ["OTTO_BENCH_LOG"], "ab") if os.environ.get("OTTO_BENCH_LOG") else subprocess.DEVNULL
    proc = subprocess.Popen([binary], env=env, stdout=err, stderr=err)
    ok = done.wait(20)
    proc.kill()
    proc.wait()
    srv.shutdown()
    if not ok or not result.get("path", "").endswith("/req-1/response"):
        raise SystemExit(f"api binary did not answer: {result}")
    answer = json.loads(result["body"])
    if (answer.get("statusCode") or 0) >= 500:
        # A benchmark of a failing request measures nothing: say what the API answered.
        raise SystemExit(f"api binary answered HTTP {answer.get('statusCode')}: {answer.get('body')}")
    return result["t"] - t0, result["ready"] - t0, answer.get("statusCode")


def boto3_once(python):
    t0 = time.perf_counter()
    subprocess.run([python, "-c", "import boto3; boto3.client('dynamodb', region_name='eu-west-1')"],
                   check=True)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/api"))
    ap.add_argument("--python", default=os.path.join(ROOT, ".venv/bin/python"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--event", default=os.path.join(ROOT, "events/apigw-http-get-row.json"))
    ap.add_argument("--store", default="embedded", choices=["embedded", "dynamodb"])
    ap.add_argument("--no-python", action="store_true")
    a = ap.parse_args()
    event = open(a.event, "rb").read()
    api, ready, py, statuses = [], [], [], set()
    with tempfile.TemporaryDirectory() as d:
        for _ in range(a.runs):  # interleaved, so both see the same machine state
            t, r, status = api_once(a.binary, event, d, a.store)
            api.append(t)
            ready.append(r)
            statuses.add(status)
            if not a.no_python:
                py.append(boto3_once(a.python))
    ms = lambda xs: f"median {statistics.median(xs)*1000:.1f} ms (min {min(xs)*1000:.1f}, max {max(xs)*1000:.1f})"
    print(f"runs: {a.runs}, store {a.store}; api answered with HTTP {sorted(statuses)}")
    print(f"api binary: start -> ready (first /invocation/next): {ms(ready)}")
    print(f"api binary: start -> first answered request: {ms(api)}")
    if py:
        med_api, med_py = statistics.median(api), statistics.median(py)
        print(f"python: import boto3; boto3.client('dynamodb'): {ms(py)}")
        print(f"ratio api/boto3 (medians): {med_api/med_py:.3f}")


if __name__ == "__main__":
    main()
