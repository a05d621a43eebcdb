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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
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
