"""The soak's worker processes: started warm, told to tick together, killed at random.

Each worker (herald_dev.soak.worker) is a long-lived process, as a warm Lambda container is.
A round sends every active worker the same minute at once, so their ticks race on one ledger,
and collects their answers. A worker may be killed with SIGKILL during its tick (after a
delay the caller draws), or because it overran the function's timeout; a warm spare takes
its place and a new spare starts. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

START_TIMEOUT = 180.0  # seconds for a worker to import, load the plan and say it is ready


class WorkerError(RuntimeError):
    """A worker could not be started, or said something that is not the protocol."""


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    _buffer: bytearray = field(default_factory=bytearray)

    def fileno(self) -> int:
        assert self.process.stdout is not None
        return self.process.stdout.fileno()

    def send(self, message: dict[str, Any]) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write((json.dumps(message) + "\n").encode())
        stdin.flush()

    def read(self) -> list[dict[str, Any]] | None:
        """The complete lines it has written (call when select() says readable); None at
        end of output (it died)."""
        chunk = os.read(self.fileno(), 65536)
        if not chunk:
            return None
        self._buffer += chunk
        *lines, rest = self._buffer.split(b"\n")
        self._buffer = bytearray(rest)
        try:
            return [json.loads(line) for line in lines if line.strip()]
        except ValueError as error:
            raise WorkerError(f"a worker wrote something that is not JSON: {error}") from None

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.close_pipes()

    def close_pipes(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None and not pipe.closed:
                with contextlib.suppress(BrokenPipeError):
                    pipe.close()

    def log_tail(self, size: int = 1500) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-size:]
        except OSError:
            return ""


@dataclass(frozen=True)
class Answer:
    """What became of one worker's tick: its reply, or `killed`, `timed_out`, `died`."""

    slot: int
    reply: dict[str, Any] | None
    fate: str = "answered"


class WorkerPool:
    """`size` workers ticking together, `spares` more started in advance."""

    def __init__(
        self,
        command: Sequence[str],
        env: dict[str, str],
        log_dir: Path,
        size: int,
        spares: int = 1,
    ) -> None:
        self._command = list(command)
        self._env = env
        self._log_dir = log_dir
        self._spawned = 0
        self.active: list[Worker] = [self._spawn() for _ in range(size)]
        for worker in self.active:
            self._await_ready(worker)
        # Spares warm up while the first minutes tick.
        self.spares: list[Worker] = [self._spawn() for _ in range(spares)]
        self.replaced = 0

    def _spawn(self) -> Worker:
        self._spawned += 1
        log_path = self._log_dir / f"worker-{self._spawned}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                self._command,
                env=self._env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        return Worker(process, log_path)

    def _await_ready(self, worker: Worker) -> None:
        deadline = worker.started + START_TIMEOUT
        while not worker.ready:
            left = deadline - time.monotonic()
            if left <= 0 or worker.process.poll() is not None:
                worker.kill()
                raise WorkerError(f"a worker did not start:\n{worker.log_tail()}")
            if select.select([worker], [], [], min(left, 1.0))[0]:
                lines = worker.read()
                worker.ready = any(m.get("ready") for m in lines or [])
                if lines is None:
                    raise WorkerError(f"a worker exited while starting:\n{worker.log_tail()}")

    def round(self, now: str, kill_after: dict[int, float], timeout: float) -> list[Answer]:
        """Every active worker ticks at `now`; slot i is killed `kill_after[i]` seconds after
        the round began if it has not answered by then, and any is killed at `timeout`."""
        began = time.monotonic()
        answers: dict[int, Answer] = {}
        for slot, worker in enumerate(self.active):
            try:
                worker.send({"now": now})
            except BrokenPipeError:
                answers[slot] = Answer(slot, {"error": worker.log_tail(500)}, "died")
        while len(answers) < len(self.active):
            pending = [i for i in range(len(self.active)) if i not in answers]
            elapsed = time.monotonic() - began
            for slot in pending:
                limit = min(kill_after.get(slot, timeout), timeout)
                if elapsed >= limit:
                    self.active[slot].kill()
                    fate = "timed_out" if limit >= timeout else "killed"
                    answers[slot] = Answer(slot, None, fate)
            pending = [i for i in pending if i not in answers]
            if not pending:
                break
            wake = min(min(kill_after.get(i, timeout), timeout) for i in pending) - elapsed
            readable = select.select([self.active[i] for i in pending], [], [], max(wake, 0))[0]
            for worker in readable:
                slot = self.active.index(worker)
                lines = worker.read()
                if lines is None:
                    answers[slot] = Answer(slot, {"error": worker.log_tail(500)}, "died")
                elif lines:
                    answers[slot] = Answer(slot, lines[-1])
        for answer in answers.values():
            if answer.fate != "answered":
                self._replace(answer.slot)
        return [answers[i] for i in sorted(answers)]

    def _replace(self, slot: int) -> None:
        """A warm spare takes the dead worker's place; a new spare starts."""
        self.active[slot].kill()
        spare = self.spares.pop(0) if self.spares else self._spawn()
        self.spares.append(self._spawn())
        self._await_ready(spare)
        self.active[slot] = spare
        self.replaced += 1

    def close(self) -> None:
        """End of input for every worker; any still running after 10 s is killed."""
        for worker in [*self.active, *self.spares]:
            stdin: IO[bytes] | None = worker.process.stdin
            if stdin is not None and not stdin.closed:
                with contextlib.suppress(BrokenPipeError):
                    stdin.close()
        deadline = time.monotonic() + 10
        for worker in [*self.active, *self.spares]:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            worker.kill()
