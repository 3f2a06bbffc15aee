"""`python -m herald_dev.soak`: the chaos soak (`make soak`). Exits 1 when a target is missed;
stopped early (Ctrl-C, SIGTERM), it reports what it ticked, writes nothing and exits 130."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from herald_dev.soak.run import SoakConfig

COMMAND = ".venv/bin/python -m herald_dev.soak"
MAKE_SOAK = ["--write", "docs/reliability.md"]  # the arguments `make soak` gives


def parse(argv: list[str]) -> tuple[SoakConfig, Path | None]:
    defaults = SoakConfig()
    parser = argparse.ArgumentParser(
        prog="python -m herald_dev.soak",
        description="Run herald's engine and X channel over a generated month of campaigns, "
        "against the fake X and DynamoDB Local with seeded random faults, and report.",
    )
    add = parser.add_argument
    add("--days", type=int, default=defaults.days, help="simulated days (31)")
    add("--start", type=date.fromisoformat, default=defaults.start, help="first day (2027-03-01)")
    add("--seed", type=int, default=defaults.seed, help="campaigns, faults and kills (1)")
    add("--fault-rate", type=float, default=defaults.fault_rate, help="per request (0.05)")
    add("--workers", type=int, default=defaults.workers, help="ticks racing each minute (3)")
    add("--kill-rate", type=float, default=defaults.kill_rate, help="per worker tick (0.01)")
    add("--timeline-lag", type=float, default=defaults.timeline_lag, help="simulated s (20)")
    add("--x-allows-duplicates", action="store_true", help="the fake X accepts a repeated text")
    add("--max-seconds", type=float, default=defaults.max_seconds, help="wall budget (14400)")
    add("--write", type=Path, metavar="FILE", help="write the report there (docs/reliability.md)")
    args = parser.parse_args(argv)
    if args.days < 1 or args.workers < 1 or not 0 <= args.fault_rate <= 1:
        parser.error("--days and --workers are at least 1; --fault-rate is 0..1")
    config = SoakConfig(
        days=args.days,
        start=args.start,
        seed=args.seed,
        fault_rate=args.fault_rate,
        workers=args.workers,
        kill_rate=args.kill_rate,
        timeline_lag=args.timeline_lag,
        x_refuses_duplicates=not args.x_allows_duplicates,
        max_seconds=args.max_seconds,
    )
    return config, args.write


def main(argv: list[str] | None = None) -> int:
    from herald_dev.soak.document import render
    from herald_dev.soak.report import analyse, targets
    from herald_dev.soak.run import run

    arguments = sys.argv[1:] if argv is None else argv
    config, write = parse(arguments)
    # Stopped from outside: stop ticking, report, and stop the workers, fakes and DynamoDB Local.
    signal.signal(signal.SIGTERM, _interrupt)
    result = run(config, echo=lambda line: print(line, file=sys.stderr, flush=True))
    findings = analyse(result)
    command = f"{COMMAND} {shlex.join(arguments)}".strip()
    alias = "make soak" if arguments == MAKE_SOAK else None
    text = render(result, findings, command, datetime.now(UTC), alias)
    print(text)
    if result.stats.interrupted:
        print("soak: interrupted, so nothing was written", file=sys.stderr)
        return 130
    if write is not None:
        write.write_text(text, encoding="utf-8")
        print(f"soak: wrote {write}", file=sys.stderr)
    return 0 if all(t.met for t in targets(result, findings)) else 1


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
