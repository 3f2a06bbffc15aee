"""The unit tests run with the network blocked: tests/unit/conftest.py, run here by pytest
on small test files, fails a test that connects, binds, sends or looks up a name, in its own
process or in a Python process it starts, even when the code caught the error; it passes the
tests that use no network and leaves the socket module as it was. (That the integration
tests are not guarded shows in every run of the whole suite: they start servers.)"""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import pytest

from herald_dev.network_guard import NetworkBlockedError, blocked_network

pytest_plugins = ["pytester"]

UNIT_CONFTEST = Path(__file__).with_name("conftest.py").read_text(encoding="utf-8")
# Hypothesis's plugin would import hypothesis afresh in every inner run: seconds each.
INNER_OPTIONS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-q")
GUARD_FAILED = "*NetworkBlockedError*"


def run_unit_tests(pytester: pytest.Pytester, tests: str) -> pytest.RunResult:
    """Run `tests` as a test file beside a copy of the unit tests' conftest."""
    unit = pytester.mkpydir("unit")
    (unit / "conftest.py").write_text(UNIT_CONFTEST, encoding="utf-8")
    (unit / "test_it.py").write_text(textwrap.dedent(tests), encoding="utf-8")
    return pytester.runpytest_inprocess(*INNER_OPTIONS, "unit")


def test_connecting_to_loopback_fails_the_test(pytester: pytest.Pytester) -> None:
    # Given a unit test that connects to 127.0.0.1 / When it runs
    result = run_unit_tests(
        pytester,
        """
        import socket

        def test_it():
            with socket.socket() as client:
                client.connect(("127.0.0.1", 9))
        """,
    )
    # Then it fails, naming the blocked connect
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([GUARD_FAILED + "socket.connect(('127.0.0.1', 9),)*"])


def test_binding_fails_the_test_even_when_the_error_is_caught(pytester: pytest.Pytester) -> None:
    # Given a unit test that binds a server socket and swallows whatever goes wrong
    result = run_unit_tests(
        pytester,
        """
        import contextlib, socket

        def test_it():
            with contextlib.suppress(Exception), socket.socket() as server:
                server.bind(("127.0.0.1", 0))
        """,
    )
    # Then it fails all the same, naming the test and the bind
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [GUARD_FAILED + "test_it used the network in its call*socket.bind(('127.0.0.1', 0),)*"]
    )


def test_a_fixture_that_looks_up_a_name_is_an_error(pytester: pytest.Pytester) -> None:
    # Given a fixture that resolves a host name, swallowing the error
    result = run_unit_tests(
        pytester,
        """
        import contextlib, socket
        import pytest

        @pytest.fixture
        def address():
            with contextlib.suppress(Exception):
                return socket.getaddrinfo("example.com", 443)

        def test_it(address):
            pass
        """,
    )
    # Then the test errors in its set-up, naming the lookup
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([GUARD_FAILED + "set-up*getaddrinfo('example.com', 443)*"])


def test_a_child_process_that_connects_fails_the_test(pytester: pytest.Pytester) -> None:
    # Given a unit test whose Python subprocess connects to loopback and hides the error
    result = run_unit_tests(
        pytester,
        """
        import subprocess, sys

        CHILD = '''
        import contextlib, socket
        with contextlib.suppress(Exception):
            socket.socket().connect(("127.0.0.1", 9))
        print("child done")
        '''

        def test_it():
            done = subprocess.run(
                [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True
            )
            assert done.stdout == "child done\\n"
        """,
    )
    # Then the child ran to its end, and the test fails, naming the child's connect
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([GUARD_FAILED + "in process *socket.connect(('127.0.0.1', 9),)*"])


def test_tests_that_use_no_network_pass(pytester: pytest.Pytester) -> None:
    # Given a unit test that computes, and one whose subprocess uses no network
    result = run_unit_tests(
        pytester,
        """
        import subprocess, sys

        def test_sum():
            assert 2 + 2 == 4

        def test_child():
            done = subprocess.run([sys.executable, "-c", "print(6 * 7)"], capture_output=True)
            assert done.stdout == b"42\\n"
        """,
    )
    # When they run / Then both pass
    result.assert_outcomes(passed=2)


def test_the_guard_puts_the_socket_module_back() -> None:
    # Given the socket functions as they are now
    before = (socket.getaddrinfo, *(getattr(socket.socket, n) for n in ("connect", "bind")))
    # When a block with the guard raises on a connect
    with pytest.raises(NetworkBlockedError), blocked_network() as attempts:
        socket.socket().connect(("127.0.0.1", 9))
    # Then the attempt was noted, and the functions are the ones from before
    assert attempts == ["socket.connect(('127.0.0.1', 9),)"]
    after = (socket.getaddrinfo, *(getattr(socket.socket, n) for n in ("connect", "bind")))
    assert after == before
