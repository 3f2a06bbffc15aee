"""Unit test set-up: the network is blocked, and the fixtures several unit tests share.

Every unit test's set-up, call and tear-down run inside `herald_dev.network_guard`: a socket
connect, bind or send, or a name lookup, in the test's process or in a Python process it
starts, fails the test (loopback included). A test that needs a server is an integration test.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

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
