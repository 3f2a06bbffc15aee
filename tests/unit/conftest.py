"""Unit test set-up: the network is blocked, and the fixtures several unit tests share.

Every unit test's set-up, call and tear-down run inside `herald_dev.network_guard`: a socket
connect, bind or send, or a name lookup, in the test's process or in a Python process it
starts, fails the test (loopback included). A test that needs a server is an integration test.

Fixtures:
- `campaign_file`: the test module's campaign, the YAML its own `campaign_text` fixture
  returns, written to tmp_path/demo.yaml.
- `plan`: that campaign loaded as the function loads it (`load_plan_strict`).
- `ledger`: a SQLite ledger in tmp_path, closed after the test.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from herald.ledger.sqlite import SqliteLedger
from herald.plan import LoadedPlan, load_plan_strict
from herald_dev.network_guard import guarded_phase


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from guarded_phase(item.nodeid, "set-up"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from guarded_phase(item.nodeid, "call"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from guarded_phase(item.nodeid, "tear-down"))


@pytest.fixture
def campaign_file(tmp_path: Path, campaign_text: str) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(campaign_text, encoding="utf-8")
    return path


@pytest.fixture
def plan(campaign_file: Path) -> LoadedPlan:
    return load_plan_strict([campaign_file])


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SqliteLedger]:
    with SqliteLedger(tmp_path / "ledger.sqlite3") as opened:
        yield opened
