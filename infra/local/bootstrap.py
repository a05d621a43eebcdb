#!/usr/bin/env python3
"""Mirror template.yaml's data plane on a local AWS emulator (moto server).

Creates, for one stack name, every

  * AWS::DynamoDB::Table   -> table "{stack}-{LogicalId}" (keys, attribute definitions,
                              GSIs, PAY_PER_REQUEST, TTL when TimeToLiveSpecification is set)
  * AWS::SQS::Queue        -> queue named by its QueueName (!Sub "${AWS::StackName}-x" resolved
                              with the stack name) or "{stack}-{LogicalId}"; DLQs are created
                              before the queues that redrive to them
  * AWS::Events::EventBus  -> bus named by its Name

found in the template. Other resource types are skipped. Re-running is safe: existing tables
get missing GSIs / TTL added, existing queues get their attributes converged.

On success it prints shell `export` lines (progress goes to stderr), so:

    eval "$(.venv/bin/python infra/local/bootstrap.py --endpoint http://127.0.0.1:PORT)"

`--check` prints a JSON summary of what exists instead (exit 1 if anything is missing).

Exit codes: 0 ok, 1 --check found missing resources, 2 usage/template/endpoint error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
DEFAULT_ACCOUNT = "123456789012"  # moto's default account

try:
    import yaml
except ImportError:  # pragma: no cover - environment problem
    sys.exit("bootstrap: PyYAML is missing; run with the project venv (.venv/bin/python)")
try:
    import boto3
    import botocore.config
    import botocore.exceptions
except ImportError:  # pragma: no cover - environment problem
    sys.exit("bootstrap: boto3 is missing; run with the project venv (.venv/bin/python)")


class Fail(Exception):
    """A clear, user-facing error (exit 2)."""


def log(msg: str) -> None:
    print(f"bootstrap: {msg}", file=sys.stderr)


# ---------------------------------------------------------------------------
# Template loading: YAML with CloudFormation short-form tags.
# ---------------------------------------------------------------------------

class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns `!Ref x` into {"Ref": x}, `!Sub s` into {"Fn::Sub": s}, etc."""


def _construct_cfn_tag(loader: CfnLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        logical, _, attr = value.partition(".")
        return {"Fn::GetAtt": [logical, attr]}
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_cfn_tag)


def load_template(path: Path) -> dict:
    if not path.is_file():
        raise Fail(f"template not found: {path}")
    try:
        with path.open(encoding="utf-8") as fh:
            doc = yaml.load(fh, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise Fail(f"cannot parse {path}: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("Resources"), dict):
        raise Fail(f"{path} has no Resources section")
    return doc


# ---------------------------------------------------------------------------
# The emulated stack.
# ---------------------------------------------------------------------------

class Stack:
    def __init__(self, template: dict, stack: str, region: str, endpoint: str, check: bool):
        self.template = template
        self.resources: dict[str, dict] = template["Resources"]
        self.stack = stack
        self.region = region
        self.endpoint = endpoint
        self.check = check
        cfg = botocore.config.Config(
            region_name=region,
            connect_timeout=3,
            read_timeout=30,
            retries={"max_attempts": 2, "mode": "standard"},
        )
        kw = dict(endpoint_url=endpoint, region_name=region, config=cfg)
        self.ddb = boto3.client("dynamodb", **kw)
        self.sqs = boto3.client("sqs", **kw)
        self.events = boto3.client("events", **kw)
        self.sts = boto3.client("sts", **kw)
        self.account = DEFAULT_ACCOUNT
        self.params = {
            name: spec.get("Default")
            for name, spec in (template.get("Parameters") or {}).items()
            if isinstance(spec, dict)
        }
        # logical id -> {"ref": ..., "Arn": ..., ...}; filled as resources are ensured
        self.done: dict[str, dict[str, Any]] = {}
        self.in_progress: set[str] = set()
        self.summary: dict[str, list] = {"tables": [], "queues": [], "event_buses": []}
        self.missing = 0

    # ---------------------------------------------------------------- intrinsics
    def pseudo(self, name: str) -> str | None:
        return {
            "AWS::StackName": self.stack,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{self.stack}/local",
        }.get(name)

    def ref(self, name: str) -> Any:
        p = self.pseudo(name)
        if p is not None:
            return p
        if name in self.params:
            if self.params[name] is None:
                raise Fail(f"parameter {name} has no Default")
            return self.params[name]
        if name in self.resources:
            return self.ensure(name)["ref"]
        raise Fail(f"cannot resolve Ref {name}")

    def getatt(self, logical: str, attr: str) -> Any:
        if logical not in self.resources:
            raise Fail(f"cannot resolve GetAtt {logical}.{attr}")
        attrs = self.ensure(logical)
        if attr not in attrs:
            raise Fail(f"attribute {logical}.{attr} not available locally")
        return attrs[attr]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.getatt(logical, attr)
            if key == "Fn::Sub":
                return self.sub(arg)
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(p) for p in self.resolve(parts))
            if key == "Fn::Select":
                idx, items = arg
                return self.resolve(items)[int(self.resolve(idx))]
            if key.startswith("Fn::"):
                raise Fail(f"unsupported intrinsic {key} in a resource bootstrap needs")
        return {k: self.resolve(v) for k, v in value.items()}

    _SUB_RE = re.compile(r"\$\{([^}]+)\}")

    def sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, variables = arg[0], self.resolve(arg[1] if len(arg) > 1 else {})
        else:
            text, variables = arg, {}

        def repl(m: re.Match) -> str:
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical, attr = name.split(".", 1)
                return str(self.getatt(logical, attr))
            return str(self.ref(name))

        return self._SUB_RE.sub(repl, text)

    # ---------------------------------------------------------------- resources
    def ensure(self, logical: str) -> dict[str, Any]:
        if logical in self.done:
            return self.done[logical]
        if logical in self.in_progress:
            raise Fail(f"circular reference through {logical}")
        self.in_progress.add(logical)
        res = self.resources[logical]
        kind = res.get("Type")
        props = res.get("Properties") or {}
        handler = {
            "AWS::DynamoDB::Table": self.ensure_table,
            "AWS::SQS::Queue": self.ensure_queue,
            "AWS::Events::EventBus": self.ensure_bus,
        }.get(kind)
        if handler is None:
            raise Fail(f"{logical} ({kind}) is referenced but not emulated locally")
        attrs = handler(logical, props)
        self.in_progress.discard(logical)
        self.done[logical] = attrs
        return attrs

    # DynamoDB ---------------------------------------------------------------
    def ensure_table(self, logical: str, props: dict) -> dict[str, Any]:
        name = f"{self.stack}-{logical}"
        key_schema = self.resolve(props.get("KeySchema") or [])
        attr_defs = self.resolve(props.get("AttributeDefinitions") or [])
        gsis = [
            {
                "IndexName": g["IndexName"],
                "KeySchema": g["KeySchema"],
                "Projection": g.get("Projection") or {"ProjectionType": "ALL"},
            }
            for g in self.resolve(props.get("GlobalSecondaryIndexes") or [])
        ]
        lsis = [
            {"IndexName": g["IndexName"], "KeySchema": g["KeySchema"], "Projection": g["Projection"]}
            for g in self.resolve(props.get("LocalSecondaryIndexes") or [])
        ]
        ttl = self.resolve(props.get("TimeToLiveSpecification") or {})

        desc = self._describe_table(name)
        if self.check:
            entry: dict[str, Any] = {"logical_id": logical, "name": name, "exists": desc is not None}
            if desc is not None:
                entry["gsis"] = sorted(g["IndexName"] for g in desc.get("GlobalSecondaryIndexes", []))
                entry["ttl"] = self._ttl_attr(name)
                missing_gsis = sorted({g["IndexName"] for g in gsis} - set(entry["gsis"]))
                if missing_gsis:
                    entry["missing_gsis"] = missing_gsis
                    self.missing += 1
            else:
                self.missing += 1
            self.summary["tables"].append(entry)
        else:
            if desc is None:
                kwargs: dict[str, Any] = dict(
                    TableName=name,
                    KeySchema=key_schema,
                    AttributeDefinitions=attr_defs,
                    BillingMode="PAY_PER_REQUEST",
                )
                if gsis:
                    kwargs["GlobalSecondaryIndexes"] = gsis
                if lsis:
                    kwargs["LocalSecondaryIndexes"] = lsis
                try:
                    desc = self.ddb.create_table(**kwargs)["TableDescription"]
                    log(f"created table {name}")
                except self.ddb.exceptions.ResourceInUseException:
                    desc = self._describe_table(name)
                self.ddb.get_waiter("table_exists").wait(
                    TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
                )
            else:
                # Converge: add GSIs the template gained since the table was created.
                have = {g["IndexName"] for g in desc.get("GlobalSecondaryIndexes", [])}
                for g in gsis:
                    if g["IndexName"] in have:
                        continue
                    needed = {k["AttributeName"] for k in g["KeySchema"]}
                    self.ddb.update_table(
                        TableName=name,
                        AttributeDefinitions=[a for a in attr_defs if a["AttributeName"] in needed],
                        GlobalSecondaryIndexUpdates=[{"Create": g}],
                    )
                    log(f"added GSI {g['IndexName']} to {name}")
                log(f"table {name} exists")
            if ttl.get("Enabled") and ttl.get("AttributeName"):
                if self._ttl_attr(name) != ttl["AttributeName"]:
                    self.ddb.update_time_to_live(
                        TableName=name,
                        TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
                    )
                    log(f"enabled TTL on {name}.{ttl['AttributeName']}")
            desc = self._describe_table(name) or {}
        arn = (desc or {}).get("TableArn") or f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name}"
        return {"ref": name, "Arn": arn, "StreamArn": (desc or {}).get("LatestStreamArn")}

    def _describe_table(self, name: str) -> dict | None:
        try:
            return self.ddb.describe_table(TableName=name)["Table"]
        except self.ddb.exceptions.ResourceNotFoundException:
            return None

    def _ttl_attr(self, name: str) -> str | None:
        d = self.ddb.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        if d.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            return d.get("AttributeName")
        return None

    # SQS --------------------------------------------------------------------
    _QUEUE_ATTRS = (
        "DelaySeconds",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout",
        "ContentBasedDeduplication",
        "DeduplicationScope",
        "FifoThroughputLimit",
    )

    def ensure_queue(self, logical: str, props: dict) -> dict[str, Any]:
        name = self.resolve(props.get("QueueName")) or f"{self.stack}-{logical}"
        fifo = bool(self.resolve(props.get("FifoQueue", False)))
        if fifo and not name.endswith(".fifo"):
            name += ".fifo"
        attrs: dict[str, str] = {}
        for key in self._QUEUE_ATTRS:
            if key in props:
                attrs[key] = _attr_str(self.resolve(props[key]))
        if "RedrivePolicy" in props:
            # Resolving deadLetterTargetArn ensures the DLQ exists first.
            rp = self.resolve(props["RedrivePolicy"])
            if isinstance(rp, str):
                rp = json.loads(rp)
            attrs["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": rp["deadLetterTargetArn"], "maxReceiveCount": int(rp["maxReceiveCount"])}
            )

        url = self._queue_url(name)
        if self.check:
            entry: dict[str, Any] = {"logical_id": logical, "name": name, "exists": url is not None}
            if url is None:
                self.missing += 1
            else:
                got = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
                entry["url"] = url
                entry["visibility_timeout"] = int(got.get("VisibilityTimeout", 0))
                if "RedrivePolicy" in got:
                    entry["redrive_policy"] = json.loads(got["RedrivePolicy"])
            self.summary["queues"].append(entry)
        elif url is None:
            create_attrs = dict(attrs)
            if fifo:
                create_attrs["FifoQueue"] = "true"
            url = self.sqs.create_queue(QueueName=name, Attributes=create_attrs)["QueueUrl"]
            log(f"created queue {name}")
        else:
            if attrs:
                self.sqs.set_queue_attributes(QueueUrl=url, Attributes=attrs)
            log(f"queue {name} exists")
        arn = f"arn:aws:sqs:{self.region}:{self.account}:{name}"
        if url is not None:
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return {"ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}

    def _queue_url(self, name: str) -> str | None:
        try:
            return self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if "NonExistentQueue" in code or "QueueDoesNotExist" in code:
                return None
            raise

    # EventBridge --------------------------------------------------------------
    def ensure_bus(self, logical: str, props: dict) -> dict[str, Any]:
        name = self.resolve(props.get("Name")) or f"{self.stack}-{logical}"
        try:
            arn = self.events.describe_event_bus(Name=name)["Arn"]
            exists = True
        except self.events.exceptions.ResourceNotFoundException:
            arn, exists = None, False
        if self.check:
            self.summary["event_buses"].append({"logical_id": logical, "name": name, "exists": exists})
            if not exists:
                self.missing += 1
        elif not exists:
            try:
                arn = self.events.create_event_bus(Name=name)["EventBusArn"]
                log(f"created event bus {name}")
            except self.events.exceptions.ResourceAlreadyExistsException:
                arn = self.events.describe_event_bus(Name=name)["Arn"]
        else:
            log(f"event bus {name} exists")
        arn = arn or f"arn:aws:events:{self.region}:{self.account}:event-bus/{name}"
        return {"ref": name, "Arn": arn, "Name": name}

    # ---------------------------------------------------------------- driver
    SUPPORTED = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::Events::EventBus")

    def run(self) -> None:
        try:
            self.account = self.sts.get_caller_identity()["Account"]
        except botocore.exceptions.EndpointConnectionError as exc:
            raise Fail(f"cannot reach endpoint {self.endpoint}: {exc}") from exc
        except botocore.exceptions.ClientError:
            pass  # emulator without STS: keep the default account id
        for logical, res in self.resources.items():
            if isinstance(res, dict) and res.get("Type") in self.SUPPORTED:
                self.ensure(logical)

    def by_ref(self, logical: str) -> Any:
        return self.done.get(logical, {}).get("ref")

    def env(self) -> dict[str, str]:
        env = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,  # boto3 / aws CLI read this one
            "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        }
        for var, logical in (
            ("OTTO_AUDIT_TABLE", "AuditTable"),
            ("OTTO_STATE_TABLE", "StateTable"),
            ("OTTO_CATALOG_TABLE", "CatalogTable"),
        ):
            if self.by_ref(logical):
                env[var] = self.by_ref(logical)
        # Prefix = URL of the `sync` stage queue minus "sync" (code appends the stage name).
        sync_name = f"{self.stack}-sync"
        for attrs in self.done.values():
            if attrs.get("QueueName") == sync_name and attrs.get("QueueUrl"):
                env["OTTO_QUEUE_URL_PREFIX"] = attrs["QueueUrl"][: -len("sync")]
        if "OTTO_QUEUE_URL_PREFIX" not in env:
            log(f"warning: no queue named {sync_name}; OTTO_QUEUE_URL_PREFIX not set")
        if self.by_ref("EventBus"):
            env["OTTO_EVENT_BUS"] = self.by_ref("EventBus")
        if self.by_ref("SlackResponderQueue"):
            env["SLACK_RESPONDER_QUEUE_URL"] = self.by_ref("SlackResponderQueue")
        return env


def _attr_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def default_endpoint() -> str | None:
    if os.environ.get("AWS_ENDPOINT_URL"):
        return os.environ["AWS_ENDPOINT_URL"]
    port_file = REPO_ROOT / ".tmp" / "moto.port"
    if port_file.is_file():
        port = port_file.read_text().strip()
        if port.isdigit():
            return f"http://127.0.0.1:{port}"
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Create template.yaml's tables, queues and event bus on a local moto server.",
    )
    ap.add_argument(
        "--endpoint",
        help="emulator URL, e.g. http://127.0.0.1:5000 "
        "(default: $AWS_ENDPOINT_URL, else the port in .tmp/moto.port)",
    )
    ap.add_argument("--region", default="us-east-1", help="region (default us-east-1)")
    ap.add_argument("--stack", default="otto-local", help="stack name used for resource names (default otto-local)")
    ap.add_argument("--template", default=str(DEFAULT_TEMPLATE), help="path to template.yaml")
    ap.add_argument("--check", action="store_true", help="create nothing; print a JSON summary of what exists")
    args = ap.parse_args(argv)

    endpoint = args.endpoint or default_endpoint()
    if not endpoint:
        print("bootstrap: no endpoint: pass --endpoint http://127.0.0.1:PORT (or run scripts/moto.sh start)",
              file=sys.stderr)
        return 2
    if not re.match(r"^https?://[^/\s]+", endpoint):
        print(f"bootstrap: bad endpoint {endpoint!r}: expected http://HOST:PORT", file=sys.stderr)
        return 2
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    # Don't let a shell-level AWS_ENDPOINT_URL / profile redirect our clients.
    os.environ.pop("AWS_PROFILE", None)

    started = time.monotonic()
    try:
        template = load_template(Path(args.template))
        stack = Stack(template, args.stack, args.region, endpoint.rstrip("/"), args.check)
        stack.run()
    except Fail as exc:
        print(f"bootstrap: error: {exc}", file=sys.stderr)
        return 2
    except botocore.exceptions.EndpointConnectionError as exc:
        print(f"bootstrap: error: cannot reach endpoint {endpoint}: {exc}", file=sys.stderr)
        return 2
    except botocore.exceptions.ClientError as exc:
        print(f"bootstrap: error: AWS call failed: {exc}", file=sys.stderr)
        return 2

    if args.check:
        out = {
            "endpoint": stack.endpoint,
            "region": stack.region,
            "stack": stack.stack,
            "complete": stack.missing == 0,
            **stack.summary,
        }
        print(json.dumps(out, indent=2, sort_keys=False))
        return 0 if stack.missing == 0 else 1

    for key, value in stack.env().items():
        print(f"export {key}={shlex.quote(str(value))}")
    log(f"done in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
