"""Our launcher for localstripe (the local Stripe emulator), used in development and tests only.

localstripe binds every interface and pickles its state to /tmp/localstripe.pickle
on every write. This launcher binds 127.0.0.1 only and keeps the state in the file
we name (the data dir) or in memory (tests). Run: python -m careers.stripe_emulator
--port N [--state FILE | --memory]. It refuses to start beside a live Stripe key.
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import socket
import sys


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="careers.stripe_emulator")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--state", help="file that keeps the emulator's state between runs")
    group.add_argument("--memory", action="store_true", help="keep state in memory only")
    args = parser.parse_args(argv)
    if os.environ.get("STRIPE_SECRET_KEY", "").startswith("sk_live_"):
        sys.exit("Refusing to start the Stripe emulator: STRIPE_SECRET_KEY is a live key.")
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        sys.exit("The Stripe emulator binds loopback only.")

    from aiohttp import web
    from localstripe import resources, server

    store_cls = resources.Store
    if args.memory:
        store_cls.try_load_from_disk = lambda self: None
        store_cls.dump_to_disk = lambda self: None
    else:
        path = args.state

        def load(self) -> None:
            try:
                with open(path, "rb") as fh:
                    old = pickle.load(fh)
            except FileNotFoundError:
                return
            self.clear()
            dict.update(self, old)

        def dump(self) -> None:
            tmp = path + ".tmp"
            with open(tmp, "wb") as fh:
                pickle.dump(dict(self), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)

        store_cls.try_load_from_disk = load
        store_cls.dump_to_disk = dump
        resources.store.try_load_from_disk()

    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    logging.basicConfig(level=logging.INFO)
    web.run_app(server.app, sock=sock, print=None, handle_signals=True)


if __name__ == "__main__":
    main()
