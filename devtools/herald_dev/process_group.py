"""Stopping a server the dev tools started in a process group of its own (DynamoDB Local,
the Bluesky PDS, `make local`): TERM the group, then KILL it if it lingers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import Any


def signal_group(process: subprocess.Popen[Any], signum: int) -> None:
    """Send `signum` to the process's group; a group already gone is no error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def stop_group(process: subprocess.Popen[Any], timeout: float) -> None:
    """TERM the group, wait up to `timeout` seconds, then KILL it. Safe to call twice."""
    if process.poll() is not None:
        return
    signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        signal_group(process, signal.SIGKILL)
        process.wait(timeout)
