#!/usr/bin/env python3
"""Minimizes fuzz/corpus/<target>/ to at most --cap files (default 200) beyond the seeds.

Runs the target's libFuzzer binary (build it first: `cargo +nightly fuzz build -O -a <target>`)
in set-cover merge mode over seeds/<target>/ and corpus/<target>/ with edge coverage only
(`-use_counters=0`), reads the full edge set of every input from the merge control file, and
greedily keeps the inputs that add the most edges the seeds (always kept, in seeds/) and the
inputs kept so far do not cover, until nothing new is added or the cap is reached. Prints how
many edges the kept corpus covers out of the whole. Replaces corpus/<target>/ with the kept
inputs (named by their SHA-1, as libFuzzer names them).

    python3 minimize.py <target> [--cap N] [--bin PATH]
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("target")
    ap.add_argument("--cap", type=int, default=200)
    ap.add_argument(
        "--bin",
        help="the fuzz binary (default: $CARGO_TARGET_DIR or fuzz/target, "
        "x86_64-unknown-linux-gnu/release/<target>)",
    )
    args = ap.parse_args()
    t = args.target
    target_dir = os.environ.get("CARGO_TARGET_DIR", os.path.join(HERE, "target"))
    binary = args.bin or os.path.join(target_dir, "x86_64-unknown-linux-gnu", "release", t)
    seeds = os.path.join(HERE, "seeds", t)
    corpus = os.path.join(HERE, "corpus", t)
    os.makedirs(corpus, exist_ok=True)

    with tempfile.TemporaryDirectory() as tmp:
        control = os.path.join(tmp, "merge.ctl")
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        subprocess.run(
            [binary, "-set_cover_merge=1", "-use_counters=0",
             f"-merge_control_file={control}", out, seeds, corpus],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        lines = open(control).read().split("\n")
        n = int(lines[0])
        files = lines[2:2 + n]
        edges = {}
        for line in lines[2 + n:]:
            parts = line.split()
            if parts and parts[0] == "FT":
                edges[int(parts[1])] = set(map(int, parts[2:]))

    seed_dir = os.path.realpath(seeds)
    is_seed = {i: os.path.realpath(f).startswith(seed_dir + os.sep) for i, f in enumerate(files)}
    covered = set()
    for i, e in edges.items():
        if is_seed[i]:
            covered |= e
    total = set().union(*edges.values()) if edges else set()
    seed_edges = len(covered)
    rest = {i: e for i, e in edges.items() if not is_seed[i]}
    kept = []
    while len(kept) < args.cap and rest:
        best = max(rest, key=lambda i: len(rest[i] - covered))
        if not rest[best] - covered:
            break
        covered |= rest.pop(best)
        kept.append(files[best])

    data = [open(f, "rb").read() for f in kept]
    shutil.rmtree(corpus)
    os.makedirs(corpus)
    for d in data:
        with open(os.path.join(corpus, hashlib.sha1(d).hexdigest()), "wb") as fh:
            fh.write(d)
    print(
        f"{t}: seeds {sum(is_seed.values())} files / {seed_edges} edges; kept {len(kept)} "
        f"files, {sum(map(len, data))} bytes; {len(covered)} of {len(total)} edges "
        f"({100 * len(covered) / max(len(total), 1):.1f}%)"
    )


if __name__ == "__main__":
    sys.exit(main())
