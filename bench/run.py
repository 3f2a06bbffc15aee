"""Run herald's benchmarks and write docs/performance.md.

    python -m bench.run [--quick] [--only NAME] [--write docs/performance.md]

`--quick` runs every benchmark at tiny sizes without DynamoDB Local or sockets (the smoke
test uses it); without it, `make bench` takes minutes."""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.common import COMMAND, Section

NAMES = ("coldstart", "idle", "busy", "scale", "lateness", "cost")


def run_all(quick: bool = False, only: str | None = None) -> list[Section]:
    from bench import busy, coldstart, cost, idle, lateness, scale

    wanted = {only} if only else set(NAMES)
    if "cost" in wanted:  # cost is computed from the others' measurements
        wanted |= {"coldstart", "busy"}
    sections: list[Section] = []
    if "coldstart" in wanted:
        sections.append(coldstart.run(quick))
    if "scale" in wanted:
        sections.append(scale.run(quick))
    if "idle" in wanted:
        sections.append(idle.run(quick))
    if "busy" in wanted:
        sections.append(busy.run(quick))
    if "lateness" in wanted:
        sections.append(lateness.run(quick))
    if "cost" in wanted:
        found = {s.name: s for s in sections}
        sections.append(cost.run(cost_inputs(found["coldstart"], found["busy"], quick), quick))
    order = {name: i for i, name in enumerate(NAMES)}
    return sorted(
        (s for s in sections if not only or s.name == only or s.name in wanted),
        key=lambda s: order[s.name],
    )


def cost_inputs(coldstart: Section, busy: Section, quick: bool) -> dict[str, float]:
    """What the cost benchmark needs, as the other two measured it. With --quick the busy tick
    ran on an in-memory X transport, so its time per delivery is no measurement of a real
    one and is left out (the cost section says so)."""
    cold = coldstart.data
    first = busy.data["results"][0]
    per = first["published"] or 1
    measured = {
        "idle_handler_seconds": cold["warm_handler_seconds"],
        "cold_start_seconds": cold["tick_seconds"],
        "log_bytes_per_idle_tick": float(cold["log_bytes_per_idle_tick"]),
        "busy_writes_per_delivery": first["writes"] / per,
        "busy_reads_per_delivery": first["reads"] / per,
    }
    if not quick:
        measured["busy_seconds_per_delivery"] = first["seconds"] / per
    return measured


def markdown(sections: list[Section], quick: bool) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# herald performance",
        "",
        f"Written by `{COMMAND} --write docs/performance.md` (`make bench`) on {now}, "
        f"Python {platform.python_version()} on {platform.machine()}"
        f"{' (--quick: tiny sizes, not representative)' if quick else ''}. Machines are shared "
        "and noisy: every figure is a ratio or a count measured side by side in one run, "
        "except the µs figures that a target is stated in. Benchmarks are not tests; the "
        "smoke test `tests/unit/test_bench_smoke.py` only checks that each runs and counts "
        "right.",
        "",
        "| benchmark | targets met | missed |",
        "| --- | ---: | --- |",
    ]
    for s in sections:
        judged = [r for r in s.rows if r.met is not None]
        missed = "; ".join(r.metric for r in s.misses) or "none"
        out.append(
            f"| [{s.title}](#{s.title.lower().replace(' ', '-').replace(',', '')}) "
            f"| {sum(1 for r in judged if r.met)}/{len(judged)} | {missed} |"
        )
    for s in sections:
        out += [
            "",
            f"## {s.title}",
            "",
            s.measures,
            "",
            f"Command: `{s.command}`",
            "",
            "| metric | measured | target | met |",
            "| --- | --- | --- | --- |",
        ]
        for r in s.rows:
            met = "—" if r.met is None else ("met" if r.met else "**missed**")
            out.append(f"| {r.metric} | {r.measured} | {r.target or '—'} | {met} |")
        for table in s.tables:
            out += ["", table]
        for note in s.notes:
            out += ["", note]
    return "\n".join(out) + "\n"


def merged(report: str, single: str, name: str) -> str:
    """`report` (a whole run's Markdown) with the sections, and their rows in the summary
    table, of a run of benchmark `name` alone (`single`; with those it needs)."""
    head, *parts = report.split("\n## ")
    _, *new_parts = single.split("\n## ")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    for section in new_parts:
        title = section.split("\n", 1)[0]
        section = section.replace(
            "\n\nCommand: ",
            f"\n\nMeasured on {now} by `{COMMAND} --only {name} --write ...`; sections "
            "without this line come from the last whole run.\n\nCommand: ",
            1,
        )
        prefix = f"| [{title}]("
        row = next(line for line in single.splitlines() if line.startswith(prefix))
        old = next((line for line in head.splitlines() if line.startswith(prefix)), None)
        head = head.replace(old, row) if old else head
        found = [n for n, part in enumerate(parts) if part.split("\n", 1)[0] == title]
        if found:
            parts[found[0]] = section
        else:
            parts.append(section)
    return "\n## ".join([head, *parts]).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="tiny sizes; no DynamoDB Local")
    parser.add_argument("--only", choices=NAMES, help="run one benchmark")
    parser.add_argument("--write", type=Path, help="write the Markdown report here")
    args = parser.parse_args(argv)
    sections = run_all(args.quick, args.only)
    text = markdown(sections, args.quick)
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        if args.only and args.write.is_file():  # one benchmark: replace its part only
            text = merged(args.write.read_text(encoding="utf-8"), text, args.only)
        args.write.write_text(text, encoding="utf-8")
    print(text)
    return 0  # misses are reported, not failures: benchmarks are not tests


if __name__ == "__main__":
    sys.exit(main())
