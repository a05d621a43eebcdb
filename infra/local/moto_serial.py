"""moto_server, with every request served one at a time.

moto's DynamoDB backend holds no lock: under concurrent requests a conditional write or a
TransactWriteItems can interleave with another and both "succeed" -- something real DynamoDB
(whose conditional writes are atomic per item, and whose transactions are serialisable) never
does. Otto's contract suite races 16 writers at one key on purpose, so the emulator must not be
the weak link: this wrapper serves the same moto application behind a global lock.

Usage: python infra/local/moto_serial.py -H 127.0.0.1 -p PORT
"""

import argparse
import os
import signal
import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


class Serialised:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            # Materialise the response inside the lock: moto builds it eagerly anyway.
            return list(self.app(environ, start_response))


def item_key(table, op_type: str, op: dict):
    """The wire-format key a TransactWriteItems entry touches (None when it cannot be told)."""
    if op_type == "Put":
        attrs = op.get("Item") or {}
        if table.hash_key_attr not in attrs:
            return None
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            if table.range_key_attr not in attrs:
                return None
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key
    return op.get("Key")


def patch_transactions() -> None:
    """moto 5's TransactWriteItems deep-copies every table it touches, once per *entry*, so it
    can roll back: a 100-entry transaction on a table of 100k items copies it 100 times. Runs get
    slower with every row written and the process grows to tens of GB (a 5,000-variant morning
    was OOM-killed at 23 GB). This keeps the same all-or-nothing behaviour by snapshotting only
    the items the transaction touches and putting them back when it is cancelled."""
    from moto.dynamodb.models import DynamoDBBackend, copy as moto_copy

    original = DynamoDBBackend.transact_write_items

    class NoTableCopy:
        """`copy` as the backend module sees it during a transaction: tables are not copied
        (the snapshot below replaces that), everything else is."""

        @staticmethod
        def deepcopy(obj, *args, **kwargs):
            from moto.dynamodb.models.table import Table

            if isinstance(obj, Table):
                return obj
            return moto_copy.deepcopy(obj, *args, **kwargs)

    def transact_write_items(self, transact_items):
        snapshot = []
        seen = set()
        for entry in transact_items or []:
            try:
                op_type, op = next(iter(entry.items()))
                table_name = op.get("TableName")
                table = self.tables.get(table_name)
                if table is None:
                    continue
                key = item_key(table, op_type, op)
                if key is None:
                    continue
                marker = (table_name, repr(sorted(key.items())))
                if marker in seen:
                    continue
                seen.add(marker)
                current = self.get_item(table_name, key)
                before = current.to_json()["Attributes"] if current else None
                snapshot.append((table_name, key, moto_copy.deepcopy(before)))
            except Exception:  # the original call reports malformed input itself
                continue
        import moto.dynamodb.models as backend_module

        backend_module.copy = NoTableCopy
        try:
            return original(self, transact_items)
        except Exception:
            for table_name, key, before in reversed(snapshot):
                if before is None:
                    if self.get_item(table_name, key) is not None:
                        self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, before)
            raise
        finally:
            backend_module.copy = moto_copy

    DynamoDBBackend.transact_write_items = transact_write_items


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    patch_transactions()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        Serialised(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
