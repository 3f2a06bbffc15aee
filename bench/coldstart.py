"""Cold start: a fresh Python process imports the handler and runs one idle tick, against the
floor `import boto3; boto3.client("dynamodb")`, interleaved, median of several runs each."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from bench.common import CAMPAIGNS, REPO_ROOT, Section, median
from herald.compiled_plan import INDEX_NAME, write_index
from herald.plan import load_plan
from herald_dev.aws_env import sandbox_env

BUILD = REPO_ROOT / ".aws-sam" / "build"
HOST_BUILD = REPO_ROOT / ".aws-sam" / "packaged" / "build"
TARGET_RATIO = 1.25
IDLE_TIME = "2026-11-29T12:00:00Z"  # nothing due within the look-back window
WARM_CALLS = {False: 200, True: 20}  # warm handler calls timed after the first cold tick
WATCHED = (
    "boto3",
    "botocore",
    "aws_lambda_powertools",
    "aws_xray_sdk",
    "herald.compiled_plan",
    "pydantic",
    "pydantic_core",
    "ruamel",
    "jinja2",
    "tweepy",
    "requests",
    "requests_oauthlib",
    "urllib3",
    "ftfy",
    "herald.render",
    "herald.release",
    "herald.campaign",
    "herald.yamlsource",
)

# Runs in the child. argv: mode, handler dir, layer dir ("" for none), warm-tick count.
CHILD = r"""
import time
_start = time.perf_counter()
import json, socket, sys
mode, handler_dir, layer_dir, warm = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
counts = {"connect": 0, "getaddrinfo": 0}
_connect, _getaddrinfo = socket.socket.connect, socket.getaddrinfo
def connect(self, address):
    counts["connect"] += 1
    return _connect(self, address)
def getaddrinfo(*args, **kwargs):
    counts["getaddrinfo"] += 1
    return _getaddrinfo(*args, **kwargs)
socket.socket.connect = connect
socket.getaddrinfo = getaddrinfo
result = {}
if mode == "floor":
    import boto3
    boto3.client("dynamodb", region_name="eu-west-2")
    result["seconds"] = time.perf_counter() - _start
else:
    sys.path[:0] = [p for p in (handler_dir, layer_dir) if p]
    class Context:
        function_name = "herald-bench-publisher"
        function_version = "$LATEST"
        invoked_function_arn = "arn:aws:lambda:eu-west-2:000000000000:function:herald-bench"
        memory_limit_in_mb = 512
        aws_request_id = "bench"
        log_group_name = "/aws/lambda/herald-bench"
        log_stream_name = "bench"
        def get_remaining_time_in_millis(self):
            return 60000
    import app
    imported = time.perf_counter()
    summary = app.lambda_handler({"scheduled_time": sys.argv[5]}, Context())
    result["seconds"] = time.perf_counter() - _start
    result["import_seconds"] = imported - _start
    result["summary"] = summary
    result["modules"] = sorted(sys.modules)
    if warm:
        times = []
        for _ in range(warm):
            began = time.perf_counter()
            app.lambda_handler({"scheduled_time": sys.argv[5]}, Context())
            times.append(time.perf_counter() - began)
        times.sort()
        result["warm_handler_seconds"] = times[len(times) // 2]
result["network"] = counts
print("BENCH-RESULT " + json.dumps(result), flush=True)
"""


def layout() -> tuple[Path, Path | None, str]:
    """Where the handler and the layer are: a `sam build` output that imports on this
    machine (the real build, else the packaged tests' build of the same sources for this
    machine's architecture), else the source tree (with the virtual environment's packages)."""
    reasons = []
    for build, what in (
        (BUILD, "the `sam build` artifact (.aws-sam/build)"),
        (
            HOST_BUILD,
            "the packaged tests' `sam build` of the same sources for this machine's"
            " architecture (.aws-sam/packaged/build)",
        ),
    ):
        handler = build / "PublisherFunction"
        layer = build / "HeraldLayer" / "python"
        if not ((handler / "app.py").exists() and layer.is_dir()):
            reasons.append(f"{build.relative_to(REPO_ROOT)} is absent")
            continue
        if not _built_from_these_sources(layer):
            reasons.append(f"{build.relative_to(REPO_ROOT)} was built from other sources")
            continue
        probe = subprocess.run(
            [sys.executable, "-S", "-c", "import pydantic_core, herald.campaign, boto3"],
            env={**_env(), "PYTHONPATH": os.pathsep.join([str(layer), _stdlib_boto3_path()])},
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0:
            return handler, layer, what
        reason = (probe.stderr.strip().splitlines() or ["import failed"])[-1]
        reasons.append(f"{build.relative_to(REPO_ROOT)} does not import here ({reason})")
    return REPO_ROOT / "functions" / "publisher", None, f"the source tree: {'; '.join(reasons)}"


def _built_from_these_sources(layer: Path) -> bool:
    """Whether the built layer's herald package is the source tree's, file for file (a
    build left from an earlier commit would measure that commit's code)."""
    sources = REPO_ROOT / "layers" / "herald"
    built = layer / "herald"
    for source in sources.rglob("*.py"):
        copy = built / source.relative_to(sources)
        if not copy.is_file() or copy.read_bytes() != source.read_bytes():
            return False
    return True


def _stdlib_boto3_path() -> str:
    """Where boto3 comes from, as Lambda's runtime provides it beside the layer: the packaged
    tests' runtime folder (boto3 and its dependencies only) if present, else site-packages."""
    runtime = sorted((REPO_ROOT / ".aws-sam" / "packaged").glob("runtime-boto3-*"))
    if runtime:
        return str(runtime[-1])
    import boto3

    return str(Path(boto3.__file__).resolve().parent.parent)


@cache
def packaged_campaigns(handler: Path) -> Path:
    """The campaigns as the function gets them: the build's copy with its compiled plan, or
    (running from the source tree) a copy of campaigns/ compiled as `sam build` does."""
    built = handler / "campaigns"
    if (built / INDEX_NAME).is_file():
        return built
    folder = Path(tempfile.mkdtemp(prefix="herald-bench-campaigns-"))
    shutil.copytree(CAMPAIGNS, folder, dirs_exist_ok=True)
    plan, problems = load_plan([folder])
    write_index(folder, plan, [str(p) for p in problems if p.is_error])
    return folder


def _env(campaigns: Path = CAMPAIGNS) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
    return {
        **keep,
        "LEDGER_TABLE": "herald-bench-ledger",
        "CREDENTIALS_SECRET": "herald-bench-secret",
        "EVENT_TIME_TOLERANCE": "off",  # the idle event time is fixed in the past
        "CAMPAIGNS_DIR": str(campaigns),
        **sandbox_env(),
        "POWERTOOLS_SERVICE_NAME": "herald",
        "POWERTOOLS_METRICS_NAMESPACE": "herald",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def child(
    mode: str,
    handler: Path,
    layer: Path | None,
    warm: int = 0,
    extra: tuple[str, ...] = (),
) -> dict[str, Any]:
    env = _env(packaged_campaigns(handler))
    if layer is not None:
        # as Lambda runs it: no site-packages, only the layer and the runtime's boto3
        env["PYTHONPATH"] = _stdlib_boto3_path()
        extra = ("-S", *extra)
    completed = subprocess.run(
        [
            sys.executable,
            *extra,
            "-c",
            CHILD,
            mode,
            str(handler),
            str(layer or ""),
            str(warm),
            IDLE_TIME,
        ],
        env=env,
        cwd=str(handler),
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [ln for ln in completed.stdout.splitlines() if ln.startswith("BENCH-RESULT ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"cold-start child ({mode}) failed:\n{completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("BENCH-RESULT "))
    result["stdout_bytes"] = (
        sum(len(ln) + 1 for ln in completed.stdout.splitlines()) - len(lines[-1]) - 1
    )
    if extra:
        result["stderr"] = completed.stderr
    return result


def import_times(stderr: str, top: int = 12) -> list[tuple[str, float]]:
    """The slowest top-level imports from `python -X importtime` (cumulative, seconds)."""
    found: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split("|", 2))
        if not cumulative.isdigit() or name.startswith(" "):
            continue
        raw = line.split("|", 2)[2]
        depth = len(raw) - len(raw.lstrip(" "))
        if depth <= 1:
            found[name] = found.get(name, 0.0) + int(cumulative) / 1e6
    return sorted(found.items(), key=lambda kv: kv[1], reverse=True)[:top]


def run(quick: bool = False) -> Section:
    section = Section(
        "coldstart",
        "Cold start",
        "A fresh Python process imports the publisher handler and runs one idle tick, "
        "with the campaigns as the build packages them (their compiled plan.index beside them) "
        f"(event time {IDLE_TIME}, nothing due; LEDGER_TABLE and CREDENTIALS_SECRET dummy), "
        'versus the floor `import boto3; boto3.client("dynamodb", region_name="eu-west-2")`, '
        "interleaved in the same run. Times are measured inside each process from its first "
        "line (interpreter start-up, the same for both, is excluded). The first tick's "
        f"process then calls the handler {WARM_CALLS[quick]} more times, warm.",
    )
    handler, layer, where = layout()
    runs = 2 if quick else 11
    ticks, floors = _interleaved(handler, layer, runs, WARM_CALLS[quick])
    section.data.update(_summary(ticks, floors), runs=runs, layout=where)
    section.notes.append(f"Imported from {where}.")
    _report(section, quick)
    if not quick:
        section.tables.append(_import_profile(section, handler, layer))
    if section.data["ratio"] > TARGET_RATIO:
        section.notes.append(_advice(section.data["modules"]))
    return section


def _interleaved(
    handler: Path, layer: Path | None, runs: int, warm: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`runs` cold idle ticks and as many floors, one after the other; the first tick's
    process also times `warm` warm handler calls."""
    ticks: list[dict[str, Any]] = []
    floors: list[dict[str, Any]] = []
    for index in range(runs):
        ticks.append(child("tick", handler, layer, warm=0 if index else warm))
        floors.append(child("floor", handler, layer))
    return ticks, floors


def _summary(ticks: list[dict[str, Any]], floors: list[dict[str, Any]]) -> dict[str, Any]:
    """The medians and counts the report and the cost benchmark use."""
    tick_s = median([t["seconds"] for t in ticks])
    floor_s = median([f["seconds"] for f in floors])
    modules = set(ticks[0]["modules"])
    return dict(
        ratio=tick_s / floor_s,
        tick_seconds=tick_s,
        import_seconds=median([t["import_seconds"] for t in ticks]),
        floor_seconds=floor_s,
        network_calls=sum(t["network"]["connect"] + t["network"]["getaddrinfo"] for t in ticks),
        modules={name: _loaded(name, modules) for name in WATCHED},
        module_count=len(modules),
        summary=ticks[0]["summary"],
        warm_handler_seconds=ticks[0]["warm_handler_seconds"],
        # a process that only ticked once: the first one's log holds the warm calls' too
        log_bytes_per_idle_tick=ticks[1]["stdout_bytes"],
    )


def _report(section: Section, quick: bool) -> None:
    data = section.data
    ratio, floor_s, connects = data["ratio"], data["floor_seconds"], data["network_calls"]
    runs = data["runs"]
    section.add("runs (each, interleaved)", str(runs), "≥ 10", runs >= 10 if not quick else None)
    section.add(
        "import + idle tick ÷ floor (median)",
        f"{ratio:.2f}×",
        f"≤ {TARGET_RATIO}×",
        ratio <= TARGET_RATIO,
    )
    section.add("of which import ÷ floor", f"{data['import_seconds'] / floor_s:.2f}×")
    section.add("network calls in the idle tick (connect + DNS)", str(connects), "0", connects == 0)
    section.add("modules in sys.modules after the tick", str(data["module_count"]))
    section.add("warm idle handler call ÷ floor", f"{data['warm_handler_seconds'] / floor_s:.4f}×")
    loaded = data["modules"]
    heavy = ", ".join(name for name, present in loaded.items() if present) or "none"
    absent = ", ".join(name for name, present in loaded.items() if not present) or "none"
    section.tables.append(
        f"Watched modules after the idle tick:\n\n- loaded: {heavy}\n- not loaded: {absent}"
    )


def _import_profile(section: Section, handler: Path, layer: Path | None) -> str:
    """Where the import time goes: one more cold tick under `python -X importtime`."""
    profile = child("tick", handler, layer, extra=("-X", "importtime"))
    slowest = import_times(profile["stderr"])
    total = sum(s for _, s in slowest) or 1.0
    section.data["import_times"] = slowest
    lines = ["| top-level import | share of the slowest imports |", "| --- | ---: |"]
    lines += [f"| `{name}` | {seconds / total:.0%} |" for name, seconds in slowest]
    return (
        "Where the import time goes (`python -X importtime`, one extra run, cumulative "
        "per top-level import, as shares):\n\n" + "\n".join(lines)
    )


def _loaded(name: str, modules: set[str]) -> bool:
    return name in modules or any(m.startswith(name + ".") for m in modules)


def _advice(loaded: dict[str, bool]) -> str:
    heavy = [
        n for n in ("pydantic", "ruamel", "jinja2", "aws_lambda_powertools", "ftfy") if loaded[n]
    ]
    return (
        "Missed because the idle tick's cold start does more than the floor: it loads "
        f"{', '.join(heavy) or 'the herald modules'} to parse the campaign YAML into a plan "
        "before the first tick. What would meet it: build the plan at `sam build` time into a "
        "compact pre-compiled file (JSON or pickle of deliveries: key, due time, campaign's "
        "max_lateness) that the Lambda loads with the standard library, and import "
        "herald.campaign / pydantic / ruamel / Jinja only when a delivery is actually due "
        "(to render it); keep Powertools' Tracer and Metrics imports out of module import "
        "(create them on first use) — see the import-time table."
    )
