"""`herald studio PATH... [--port N]`: a live preview while writing, on 127.0.0.1."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from herald.commands.common import iso_time

DEFAULT_PORT = 8737


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "studio",
        help="a live preview while writing: the preview page, re-rendered on every save",
        description="Serve the preview page of the campaigns on http://127.0.0.1:PORT/. It"
        " re-renders within a second of a file being saved in the folder and the open page"
        " updates itself; every problem is shown at its post with FILE:LINE. Ctrl-C stops it.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"the port on 127.0.0.1 (default: {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument("--now", type=iso_time, help=argparse.SUPPRESS)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from herald.commands.common import command_line_error
    from herald.studio import serve

    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise command_line_error(f"no such file or folder: {', '.join(missing)}")

    def say(line: str) -> None:
        print(line, flush=True)

    now = (lambda: args.now) if args.now is not None else None
    try:
        asyncio.run(serve(args.paths, "127.0.0.1", args.port, say, now))
    except KeyboardInterrupt:
        print("herald studio: stopped.", flush=True)
    except OSError as error:
        raise command_line_error(
            f"--port {args.port}: cannot listen there ({error.strerror})"
        ) from None
    sys.stdout.flush()
    return 0
