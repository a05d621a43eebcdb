"""Prints the AWS request counts of `scripts/bench-aws-requests` for one catalog size.

Usage: aws_requests_report.py N OUT_DIR MOTO_RSS_KB

OUT_DIR/count-N-<run>.json (run = first, next, research, discount, cs) are the
`--count-aws-requests` lines of one `otto cycle run` each: {"aws_requests", "by_operation",
"by_stage": {label: {op: n}}}. Labels are a cycle's name (its scheduler start and the local
driver's queue polling) and its stages'. OUT_DIR/time-N-<run> hold the wall times (moto's, not
DynamoDB's: not a measure of anything but the emulator).
"""

import json
import sys

CYCLES = {
    "morning": ["sync", "calibrate", "classify", "decide", "campaign_plan"],
    "research": ["lanes", "score", "queue"],
    "discount": ["audit", "revert", "open"],
    "cs": ["cs_triage"],
}
# What the local driver sends that Lambda's SQS event source mapping sends in AWS.
DRIVER = {"SQS:ReceiveMessage", "SQS:DeleteMessage"}


def cycle_counts(by_stage, cycle):
    labels = [cycle] + CYCLES[cycle]
    total = sum(sum(by_stage.get(l, {}).values()) for l in labels)
    driver = sum(n for l in labels for op, n in by_stage.get(l, {}).items() if op in DRIVER)
    stages = {l: sum(by_stage.get(l, {}).values()) for l in labels}
    ops = {}
    for l in labels:
        for op, n in by_stage.get(l, {}).items():
            ops[op] = ops.get(op, 0) + n
    return total, driver, stages, ops


def main():
    n = int(sys.argv[1])
    out = sys.argv[2]
    load = lambda run: json.load(open(f"{out}/count-{n}-{run}.json"))["by_stage"]
    wall = lambda run: open(f"{out}/time-{n}-{run}").read().strip().splitlines()[-1]
    print(f"== {n} variants (moto RSS at the end: {int(sys.argv[3]) // 1024} MB)")
    rows = [("morning, first (28-day sync)", "first", "morning"),
            ("morning, next day (new day + backfill)", "next", "morning"),
            ("research", "research", "research"),
            ("discount (dry run)", "discount", "discount"),
            ("cs triage", "cs", "cs")]
    print(f"{'cycle':40} {'all':>7} {'per var':>8} {'code':>7} {'per var':>8}  by stage")
    for name, run, cycle in rows:
        total, driver, stages, ops = cycle_counts(load(run), cycle)
        code = total - driver
        st = ", ".join(f"{k} {v}" for k, v in stages.items())
        print(f"{name:40} {total:7} {total / n:8.3f} {code:7} {code / n:8.3f}  {st}  [{wall(run)} s]")
    for name, run, cycle in rows[:2]:
        _, _, _, ops = cycle_counts(load(run), cycle)
        print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(ops.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
