"""Run the emulator as a standalone HTTP server.

python -m stripe_emulator --port 12111 [--db stripe-emulator.sqlite3] [--host 127.0.0.1]
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from werkzeug.serving import make_server

from .emulator import Emulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m stripe_emulator", description="A Stripe-compatible API emulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--db", default="stripe-emulator.sqlite3", help="SQLite file for state")
    parser.add_argument(
        "--public-url", default=None, help="URL browsers use to reach the emulator (hosted pages)"
    )
    parser.add_argument("--fee-bps", type=int, default=290, help="processing fee, basis points")
    parser.add_argument("--fee-fixed", type=int, default=30, help="processing fee, minor units")
    parser.add_argument(
        "--pending-seconds", type=int, default=2 * 86400, help="delay before funds are available"
    )
    parser.add_argument(
        "--fault-timeout", type=float, default=90.0, help="how long a 'timeout' fault stalls"
    )
    parser.add_argument("--delivery-interval", type=float, default=1.0)
    parser.add_argument(
        "--no-controls",
        dest="controls",
        action="store_false",
        help="serve neither the dashboard nor the /_emulator/ test controls",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    public_url = args.public_url or f"http://{args.host}:{args.port}"
    emu = Emulator(
        db_path=args.db,
        public_url=public_url,
        fee_bps=args.fee_bps,
        fee_fixed=args.fee_fixed,
        pending_seconds=args.pending_seconds,
        fault_timeout=args.fault_timeout,
        controls=args.controls,
    )
    server = make_server(args.host, args.port, emu.wsgi_app, threaded=True)
    emu.start_delivery_thread(args.delivery_interval)

    def shutdown(_signum: int, _frame: FrameType | None) -> None:
        # serve_forever() must be stopped from another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    print(f"Stripe emulator listening on {public_url} (state in {args.db})", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        emu.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
