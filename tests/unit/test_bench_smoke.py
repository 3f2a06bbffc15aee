"""A smoke run of every benchmark at tiny sizes (`--quick`): each runs the real code and
counts what it must count. Never asserts a time: benchmarks are not timed tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bench.common import REPO_ROOT, Section
from bench.cost import BUSY_NOT_MEASURED
from bench.run import NAMES, cost_inputs, markdown, merged, run_all

BENCH = REPO_ROOT / "bench"


@pytest.fixture(scope="module")
def sections() -> dict[str, Section]:
    # Given every benchmark at its --quick size (SQLite, in-memory X transport, no sam build)
    # When they all run
    found = run_all(quick=True)
    return {s.name: s for s in found}


def test_every_benchmark_reports_a_section_with_rows(sections: dict[str, Section]) -> None:
    # Then each benchmark has a section, with rows and the command that reproduces it
    assert sorted(sections) == sorted(NAMES)
    for section in sections.values():
        assert section.rows
        assert section.command.endswith(f"--only {section.name}")


def test_the_idle_ticks_make_no_network_call(sections: dict[str, Section]) -> None:
    # Then the cold idle tick and the warm idle ticks call neither the ledger, nor the channel,
    # nor any socket
    cold = sections["coldstart"].data
    assert cold["network_calls"] == 0
    assert cold["summary"]["examined"] == 0
    assert cold["modules"]["tweepy"] is False and cold["modules"]["jinja2"] is False
    for result in sections["idle"].data.values():
        assert result["ledger_calls"] == result["channel_calls"] == result["sockets"] == 0
        assert result["ticks"] == 500 and result["due_in_run"] == 0
        assert result["window"] > 0  # the window held final deliveries, which were not re-read


def test_the_busy_tick_sends_one_x_request_and_two_writes_per_delivery(
    sections: dict[str, Section],
) -> None:
    # Then all 50 deliveries (no images) are published once, with 1 X request and 2 ledger
    # writes each (the claim, straight as ATTEMPTING, and SENT), and the reads are batched:
    # one get_many and one pause read for the whole tick
    result = sections["busy"].data["results"][0]
    assert result["published"] == 50
    assert result["x_requests"] == 50
    assert result["writes"] == 100
    assert result["operations"]["claim"] == 50 and "mark_attempting" not in result["operations"]
    assert result["operations"]["get_many"] == 1 and result["reads"] == 2
    assert result["repeat_published"] == 0


def test_scale_lookup_and_lateness_count_what_they_measure(sections: dict[str, Section]) -> None:
    # Then the scale plan holds every generated delivery, and every simulated delivery was
    # published within a minute, none skipped late
    scale = sections["scale"].data
    assert scale["deliveries"] == 400 and scale["small_deliveries"] == 40
    for result in sections["lateness"].data.values():
        assert result["published"] == result["deliveries"]
        assert result["skipped_late"] == 0
        assert 0 <= result["max"] < 60


def test_the_report_has_a_row_per_measurement_and_the_cost_table(
    sections: dict[str, Section], tmp_path: Path
) -> None:
    # When the report is written
    text = markdown(list(sections.values()), quick=True)
    # Then it shows each benchmark's command, and the cost table with its dated prices
    for name in NAMES:
        assert f"--only {name}`" in text
    assert "| **AWS total** |" in text and "2026-11-29" in text


def test_quick_costs_use_only_measured_inputs(sections: dict[str, Section]) -> None:
    # Then the cost's inputs are the other benchmarks' measurements: the warm idle handler
    # time the cold-start benchmark timed, and no busy time per delivery, which --quick's
    # in-memory X transport cannot measure; the section says it was left out
    inputs = cost_inputs(sections["coldstart"], sections["busy"], quick=True)
    assert inputs["idle_handler_seconds"] == sections["coldstart"].data["warm_handler_seconds"]
    assert "busy_seconds_per_delivery" not in inputs
    assert BUSY_NOT_MEASURED in sections["cost"].notes


def test_no_benchmark_function_is_longer_than_60_lines() -> None:
    # Given every function in bench/ / When its lines are counted
    long = {
        f"{path.name}:{node.name}": node.end_lineno - node.lineno + 1
        for path in sorted(BENCH.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef) and node.end_lineno is not None
    }
    # Then none is over 60: each benchmark reads as named steps
    assert {name: n for name, n in long.items() if n > 60} == {}


def test_a_benchmark_run_alone_replaces_only_its_own_sections(sections: dict[str, Section]) -> None:
    # Given a whole run's report, and a later run of the scale benchmark alone
    whole = markdown(list(sections.values()), quick=True)
    alone = markdown([sections["scale"]], quick=True).replace("| 400 |", "| 400 (again) |")
    # When the report is updated with it
    text = merged(whole, alone, "scale")
    # Then the scale section is the new one, said to be measured alone, and the others stay
    assert "| 400 (again) |" in text
    assert text.count("## Scale") == 1 and "--only scale --write ...`" in text
    for name in NAMES:
        assert text.count(f"--only {name}`") == 1
    assert (
        text.replace("| 400 (again) |", "| 400 |").split("## Scale")[0]
        == whole.split("## Scale")[0]
    )
