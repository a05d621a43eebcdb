"""Prints the AWS request counts of `scripts/bench-aws-requests` for one catalog size.

Usage: aws_requests_report.py N FIRST.json NEXT.json FIRST_WALL_S NEXT_WALL_S MOTO_RSS_KB

FIRST.json / NEXT.json are the `--count-aws-requests` lines of `otto demo` and of the next day's
`otto cycle run morning`: {"aws_requests", "by_operation", "by_stage": {label: {op: n}}}. Labels
are a cycle's name (its scheduler start and the local driver's queue polling) and its stages'.
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
    first = json.load(open(sys.argv[2]))["by_stage"]
    nxt = json.load(open(sys.argv[3]))["by_stage"]
    print(f"== {n} variants (moto RSS at the end: {int(sys.argv[6]) // 1024} MB; wall: demo {sys.argv[4]} s, next morning {sys.argv[5]} s)")
    rows = [("morning, first (28-day sync)", first, "morning"),
            ("morning, next day (7-day backfill)", nxt, "morning"),
            ("research", first, "research"),
            ("discount (dry run)", first, "discount"),
            ("cs triage", first, "cs")]
    print(f"{'cycle':36} {'all':>7} {'per var':>8} {'code':>7} {'per var':>8}  by stage")
    for name, data, cycle in rows:
        total, driver, stages, ops = cycle_counts(data, cycle)
        code = total - driver
        st = ", ".join(f"{k} {v}" for k, v in stages.items())
        print(f"{name:36} {total:7} {total / n:8.3f} {code:7} {code / n:8.3f}  {st}")
    for name, data, cycle in rows[:2]:
        _, _, _, ops = cycle_counts(data, cycle)
        print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(ops.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
