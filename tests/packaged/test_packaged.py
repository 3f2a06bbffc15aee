"""The artifact `sam build` produces, run as the Lambda python3.13 runtime runs it.

The function's folder, its layer's `python/` folder and the runtime's boto3 are the only
things on the path of a fresh interpreter (`python -I -S tests/packaged/run_handler.py`):
no .venv, no site-packages, no user site. The handler is invoked with each file in events/
against DynamoDB Local (a table created from template.yaml), the fake Secrets Manager and
the fake X API, with the environment the template gives the function, and with no
CAMPAIGNS_DIR, so it reads the campaigns packaged in the artifact (LAMBDA_TASK_ROOT).

Architecture. template.yaml builds for arm64 (Graviton), so the real layer holds arm64
wheels (pydantic-core's compiled module among them) that cannot load on an x86_64 test
machine. So two builds are checked:
- the real `sam build` of template.yaml must succeed, and its layer must hold the pinned
  packages and the herald package (`test_the_real_arm64_build_holds_the_pinned_layer`);
- the function is run from a second build of the same sources and the same pinned
  requirements, from a copy of template.yaml in which only Architectures,
  CompatibleArchitectures and BuildArchitecture are set to this machine's architecture
  (and code paths made absolute, as the copy lives in .aws-sam/host/). template.yaml
  itself is never edited. What this second build proves about the first is everything but
  the wheels' CPU architecture, which the real build's own check covers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from herald.delivery import DeliveryKey
from herald.ledger import State
from herald.ledger.dynamodb import DynamoLedger
from herald_dev.fake_facebook import FakeFacebook
from herald_dev.fake_mastodon import FakeMastodon
from herald_dev.fake_secrets import FakeSecrets
from herald_dev.fake_x import FakeX
from herald_dev.mastodon_facebook_accounts import FACEBOOK_SECRET, MASTODON_SECRET
from herald_dev.x_accounts import X_SECRET
from tests.fixtures.dynamodb_local import ACCESS_KEY, REGION, SECRET_KEY
from tests.packaged.conftest import LAMBDA_PYTHON, REPO_ROOT, TEMPLATE

pytestmark = pytest.mark.packaged

RUN_HANDLER = Path(__file__).with_name("run_handler.py")
EVENTS = sorted((REPO_ROOT / "events").glob("*.json"))
CAMPAIGN = "safer-internet-day-2021"
LAUNCH = DeliveryKey(CAMPAIGN, "launch", "x", "hertspolice")
ALL_CHANNELS_SECRET = "herald/packaged/credentials"  # X, Mastodon and Facebook
LAUNCH_ALT = "Graphic: a white shield with a padlock in front of a globe of connected dots."


def template_environment() -> dict[str, str]:
    """PublisherFunction's environment as template.yaml sets it, parameters at their
    defaults; variables the template drops (AWS::NoValue) are left out."""
    from samcli.yamlhelper import parse_yaml_file

    template = parse_yaml_file(str(TEMPLATE))
    defaults = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    variables = template["Resources"]["PublisherFunction"]["Properties"]["Environment"]["Variables"]
    env: dict[str, str] = {}
    for name, value in variables.items():
        if isinstance(value, dict) and "Ref" in value:
            if value["Ref"] == "AWS::NoValue":
                continue
            value = defaults.get(value["Ref"], value["Ref"])  # a resource: set by the test
        env[name] = str(value)
    return env


def pinned_requirements() -> dict[str, str]:
    lines = (REPO_ROOT / "layers" / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pins = [line.split("#")[0].strip() for line in lines]
    return dict(pin.split("==") for pin in pins if pin)


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def run_packaged(
    build_dir: Path, runtime_dir: Path, env: dict[str, str], tmp_path: Path
) -> tuple[dict[str, Any], subprocess.CompletedProcess[str]]:
    function_dir = build_dir / "PublisherFunction"
    result_file = tmp_path / "result.json"
    process = subprocess.run(
        [
            str(LAMBDA_PYTHON),
            "-I",
            "-S",
            str(RUN_HANDLER),
            str(result_file),
            str(function_dir),
            str(build_dir / "HeraldLayer" / "python"),
            str(runtime_dir),
            *map(str, EVENTS),
        ],
        cwd=function_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert process.returncode == 0, f"the handler failed:\n{process.stdout}\n{process.stderr}"
    return json.loads(result_file.read_text(encoding="utf-8")), process


def lambda_environment(
    function_dir: Path,
    *,
    ledger_table: str,
    dynamodb: str,
    secrets: str,
    x_api: str,
    mastodon: str,
    graph: str,
) -> dict[str, str]:
    """What Lambda and the template set, pointed at the local services; nothing inherited."""
    env = template_environment()
    env.pop("CAMPAIGNS_DIR")  # the packaged campaigns, found from LAMBDA_TASK_ROOT
    env.update(
        LEDGER_TABLE=ledger_table,
        CREDENTIALS_SECRET=ALL_CHANNELS_SECRET,
        EVENT_TIME_TOLERANCE="off",  # the sample events are from 2021
        X_API_BASE_URL=x_api,
        MASTODON_BASE_URL=mastodon,
        FACEBOOK_GRAPH_URL=graph,
        AWS_ENDPOINT_URL_DYNAMODB=dynamodb,
        AWS_ENDPOINT_URL_SECRETS_MANAGER=secrets,
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EXECUTION_ENV="AWS_Lambda_python3.13",
        AWS_LAMBDA_FUNCTION_NAME="herald-packaged-publisher",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="512",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        LAMBDA_TASK_ROOT=str(function_dir),
        LAMBDA_RUNTIME_DIR=str(function_dir),
        # Active tracing: Lambda hands the function a trace header and a daemon address; the
        # segments go by UDP to loopback, where nothing listens.
        _X_AMZN_TRACE_ID=f"Root=1-601e4200-{uuid.uuid4().hex[:24]};Parent={'0' * 16};Sampled=1",
        AWS_XRAY_DAEMON_ADDRESS="127.0.0.1:2000",
        AWS_XRAY_CONTEXT_MISSING="LOG_ERROR",
        PATH="/usr/bin:/bin",
        LANG="C.UTF-8",
        TZ=":UTC",
    )
    return env


def test_the_real_arm64_build_holds_the_pinned_layer(real_build: Path) -> None:
    # Given the real template.yaml, built as it is (arm64)
    layer = real_build / "HeraldLayer" / "python"
    function = real_build / "PublisherFunction"

    # When its layer and function are listed
    distributions = [path.name.removesuffix(".dist-info") for path in layer.glob("*.dist-info")]
    installed = dict(
        (normalized(name), release)
        for name, release in (distribution.split("-", 1) for distribution in distributions)
    )

    # Then the layer holds every pinned package at its pin, herald, and no boto3
    assert {normalized(name): pin for name, pin in pinned_requirements().items()} == {
        name: installed.get(name) for name in map(normalized, pinned_requirements())
    }
    assert (layer / "herald" / "runtime.py").is_file()
    assert "boto3" not in installed
    # and the pydantic-core module was built for arm64 Lambda
    assert list((layer / "pydantic_core").glob("_pydantic_core.*aarch64*.so"))
    # and the function holds the handler and the campaigns
    assert (function / "app.py").is_file()
    assert (function / "campaigns" / f"{CAMPAIGN}.yaml").is_file()
    # and the plan compiled from exactly those campaigns, which the function starts from
    from herald.compiled_plan import load_compiled

    assert len(load_compiled(function / "campaigns")) == 33  # 13 on X and Mastodon, 7 Page posts


def shipped_test_material(root: Path) -> list[str]:
    """Every file under `root` that belongs to tests, test doubles or fixtures."""
    doubles = re.compile(r"(^|/)(fake_[^/]*\.py|loopback\.py|conftest\.py|test_[^/]*\.py)$")
    folders = {"tests", "fixtures", "herald_dev", "devtools"}
    found = []
    for path in root.rglob("*"):
        relative = path.relative_to(root).as_posix()
        if doubles.search(relative) or folders & set(path.relative_to(root).parts[:-1]):
            found.append(relative)
    return sorted(found)


def test_no_test_double_test_or_fixture_is_built_into_the_layer_or_function(
    real_build: Path,
) -> None:
    # Given the real arm64 build of template.yaml
    layer = real_build / "HeraldLayer" / "python"
    function = real_build / "PublisherFunction"

    # When every file of the layer's herald package and of the function is listed
    shipped = shipped_test_material(layer / "herald") + shipped_test_material(function)

    # Then none is a test, a test double (the fakes and their server life cycle) or a fixture
    assert shipped == []
    assert not (layer / "herald_dev").exists()
    # and the check itself sees such files where they are: in the dev package and the tests
    assert "fake_x.py" in shipped_test_material(REPO_ROOT / "devtools" / "herald_dev")
    assert "fixtures/x_api.py" in shipped_test_material(REPO_ROOT / "tests")


def test_the_packaged_function_publishes_the_due_post_exactly_once(
    host_build: Path,
    lambda_runtime: Path,
    ledger_table: str,
    dynamodb_local: str,
    dynamodb_client: Any,
    fake_secrets: FakeSecrets,
    fake_x: FakeX,
    fake_mastodon: FakeMastodon,
    fake_facebook: FakeFacebook,
    tmp_path: Path,
) -> None:
    # Given the built function and layer, the runtime's boto3, a fresh ledger table, the X
    # credentials in the fake Secrets Manager and an empty fake X
    fake_secrets.put(ALL_CHANNELS_SECRET, json.dumps(X_SECRET | MASTODON_SECRET | FACEBOOK_SECRET))
    env = lambda_environment(
        host_build / "PublisherFunction",
        ledger_table=ledger_table,
        dynamodb=dynamodb_local,
        secrets=fake_secrets.url,
        x_api=fake_x.url,
        mastodon=fake_mastodon.url,
        graph=fake_facebook.url,
    )
    assert [path.name for path in EVENTS] == ["scheduled-event.json", "scheduler.json"]

    # When a fresh, isolated interpreter runs the handler on both events (both 08:00 on
    # 9 February 2021, when the launch post is due), as one warm container would
    result, process = run_packaged(host_build, lambda_runtime, env, tmp_path)

    # Then the first tick published the launch post, with its image and alt text, on X, on
    # Mastodon and on the Facebook Page
    first, second = result["results"]
    assert first["Published"] == 3
    [status] = fake_mastodon.statuses
    assert status.text.startswith("Today is #SaferInternetDay.")
    assert status.media[0].description.startswith(LAUNCH_ALT)
    [page_post] = fake_facebook.posts
    assert page_post.photos[0].alt_text.startswith(LAUNCH_ALT)
    assert [post.account for post in fake_x.posts] == ["hertspolice"]
    launch = fake_x.posts[0]
    assert launch.text.startswith("Today is #SaferInternetDay.")
    assert [media.content_type for media in launch.media] == ["image/png"]
    assert (launch.media[0].alt or "").startswith(LAUNCH_ALT)
    # and the ledger records it SENT, with the id X gave it
    record = DynamoLedger(ledger_table, dynamodb_client).get_many([LAUNCH])[LAUNCH]
    assert record.state is State.SENT
    assert record.remote_id == launch.id
    # and the second tick, in the same minute, published nothing more
    assert second.get("Published", 0) == 0
    assert len(fake_x.posts) == 1
    assert fake_x.counts.get("POST /2/tweets") == 1
    assert len(fake_mastodon.statuses) == len(fake_facebook.posts) == 1
    # and everything the function wrote on stdout is JSON: logs, metrics
    lines = [line for line in process.stdout.splitlines() if line.strip()]
    assert lines
    documents = [json.loads(line) for line in lines]
    ticks = [doc for doc in documents if doc.get("message") == "tick"]
    assert [tick["summary"]["Published"] for tick in ticks[:1]] == [3]
    assert all(doc.get("service") == "herald" for doc in ticks)
    # and it started from the compiled plan, not by parsing every campaign
    assert not [doc for doc in documents if "compiled plan" in str(doc.get("message"))]


def test_the_packaged_process_sees_nothing_of_the_development_environment(
    host_build: Path,
    lambda_runtime: Path,
    ledger_table: str,
    dynamodb_local: str,
    fake_secrets: FakeSecrets,
    fake_x: FakeX,
    fake_mastodon: FakeMastodon,
    fake_facebook: FakeFacebook,
    tmp_path: Path,
) -> None:
    # Given the same isolated run
    fake_secrets.put(ALL_CHANNELS_SECRET, json.dumps(X_SECRET | MASTODON_SECRET | FACEBOOK_SECRET))
    env = lambda_environment(
        host_build / "PublisherFunction",
        ledger_table=ledger_table,
        dynamodb=dynamodb_local,
        secrets=fake_secrets.url,
        x_api=fake_x.url,
        mastodon=fake_mastodon.url,
        graph=fake_facebook.url,
    )

    # When it has handled the events
    result, process = run_packaged(host_build, lambda_runtime, env, tmp_path)

    # Then pytest (a .venv package) could not be imported there, the path held only the
    # function, the layer, the runtime's packages and the standard library, and every
    # module it loaded came from one of those
    assert result["pytest_importable"] is False
    venv = str(REPO_ROOT / ".venv")
    allowed = (
        str(host_build / "PublisherFunction"),
        str(host_build / "HeraldLayer" / "python"),
        str(lambda_runtime),
        str(LAMBDA_PYTHON.parent.parent / "lib"),
    )
    assert result["sys_path"][:3] == list(allowed[:3])
    assert not [entry for entry in result["sys_path"] if "site-packages" in entry]
    assert all(entry.startswith(allowed) for entry in result["sys_path"])
    files = {
        name: file
        for name, file in result["module_files"].items()
        if file and file != str(RUN_HANDLER)
    }
    assert not {name: file for name, file in files.items() if file.startswith(venv)}
    assert not {name: file for name, file in files.items() if not file.startswith(allowed)}
    assert files["herald"].startswith(allowed[1])
    assert files["boto3"].startswith(allowed[2])
    assert files["botocore"].startswith(allowed[1])  # the layer's pin shadows the runtime's
    assert "sys.path:" in process.stderr
