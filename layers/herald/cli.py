"""The `herald` command line. Each subcommand lives in `herald.commands.<name>`, which
exposes `register(subparsers)`; heavy imports stay inside the command's `run`."""

from __future__ import annotations

import argparse
import importlib
import sys

from herald.problems import InputError

COMMANDS = (
    "release",
    "draft",
    "validate",
    "preview",
    "studio",
    "compile",
    "simulate",
    "status",
    "pause",
    "resume",
    "audit",
    "retry",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="herald",
        description="Write, check, preview and publish scheduled social-media campaigns.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"herald.commands.{name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except InputError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
