"""Keeps tests off the network: a socket that connects, binds or sends, or a name lookup,
raises `NetworkBlockedError`, and a test that tried one fails even if the error was caught.

`guarded_phase` is the body of a pytest hook wrapper; tests/unit/conftest.py wraps each unit
test's set-up, call and tear-down in it, so the network is blocked for those tests only.
It blocks this process (`blocked_network`) and the Python processes the test starts with the
inherited environment (`guarded_children`: a `sitecustomize` put on their PYTHONPATH blocks
theirs and writes each attempt to a file the test's process reads). A child started with
`-S`, `-I` or an environment of its own is not guarded. Loopback is blocked like any other
address: a test that needs a server is an integration test.

Only the standard library is imported, since every guarded child imports this module.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# The socket methods that reach an address; creating a socket alone reaches nothing.
GUARDED_METHODS = ("connect", "connect_ex", "bind", "sendto", "sendmsg")
# Callers let through: urllib3 probes for IPv6 on import by binding a socket to ("::1", 0),
# which reaches nothing. (module, function)
ALLOWED_CALLERS = frozenset({("urllib3.util.connection", "_has_ipv6")})
# Where a guarded child appends its attempts, one a line (set only while a test runs).
CHILD_LOG = "HERALD_NETWORK_GUARD_LOG"
CHILD_SITE = Path(__file__).resolve().with_name("child_site")


class NetworkBlockedError(RuntimeError):
    """A guarded test used a socket or looked up a name."""


@contextmanager
def blocked_network(record: Callable[[str], None] | None = None) -> Iterator[list[str]]:
    """Refuse every socket connect, bind and send and every `getaddrinfo` inside the block.
    The list yielded names each attempt, caught or not; `record` is also told of each."""
    attempts: list[str] = []

    def note(attempt: str) -> None:
        attempts.append(attempt)
        if record is not None:
            record(attempt)

    undo = _block(note)
    try:
        yield attempts
    finally:
        undo()


def _block(note: Callable[[str], None]) -> Callable[[], None]:
    """Patch the socket module so that each use is noted and refused; the function that
    puts it back as it was."""

    def refuse(what: str, skip: int, original: Callable[..., Any]) -> Callable[..., Any]:
        def refused(*args: Any, **kwargs: Any) -> Any:
            caller = sys._getframe(1)
            if (caller.f_globals.get("__name__"), caller.f_code.co_name) in ALLOWED_CALLERS:
                return original(*args, **kwargs)
            attempt = f"{what}{tuple(args[skip:])!r}"  # skip `self` on socket methods
            note(attempt)
            raise NetworkBlockedError(f"the network is blocked here: {attempt}")

        return refused

    own = vars(socket.socket)
    saved = {name: own.get(name) for name in GUARDED_METHODS}
    getaddrinfo = socket.getaddrinfo
    for name in GUARDED_METHODS:
        setattr(socket.socket, name, refuse(f"socket.{name}", 1, getattr(socket.socket, name)))
    socket.getaddrinfo = refuse("getaddrinfo", 0, getaddrinfo)

    def undo() -> None:
        socket.getaddrinfo = getaddrinfo
        for name, method in saved.items():
            if method is None:
                delattr(socket.socket, name)  # back to the method socket.socket inherits
            else:
                setattr(socket.socket, name, method)

    return undo


def block_this_child(log: str) -> None:
    """In a child process (run by child_site/sitecustomize.py): block the network for the rest
    of the process, appending each attempt to the file `log`."""

    def record(attempt: str) -> None:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"in process {os.getpid()}: {attempt}\n")

    _block(record)  # never undone: the process ends guarded


@contextmanager
def guarded_children(log: Path) -> Iterator[None]:
    """Python processes started inside the block with the inherited environment block the
    network too, and append their attempts to `log`."""
    saved = {name: os.environ.get(name) for name in ("PYTHONPATH", CHILD_LOG)}
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(CHILD_SITE), saved["PYTHONPATH"]) if p
    )
    os.environ[CHILD_LOG] = str(log)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def guarded_phase(test: str, phase: str) -> Generator[None, object, object]:
    """A pytest hook wrapper's body: the phase runs with the network blocked, here and in
    its child processes; if anything tried to use it, the phase fails, naming each try."""
    import tempfile

    descriptor, name = tempfile.mkstemp(prefix="herald-network-guard-", suffix=".log")
    os.close(descriptor)
    log = Path(name)
    try:
        with guarded_children(log), blocked_network() as attempts:
            result = yield
        attempts += log.read_text(encoding="utf-8").splitlines()
    finally:
        log.unlink(missing_ok=True)
    if attempts:
        raise NetworkBlockedError(
            f"{test} used the network in its {phase} (unit tests run with it blocked; a test "
            f"that needs a server belongs in tests/integration): {'; '.join(attempts)}"
        )
    return result
