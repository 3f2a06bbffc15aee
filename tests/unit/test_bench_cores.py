"""bench/cores.py: the stand-ins for remote services moved onto a core of their own while a
busy minute is measured, and every process given all cores back after."""

from __future__ import annotations

import os
import subprocess
import sys

from bench.cores import apart, cores_of


def test_apart_moves_the_services_to_the_last_core_and_gives_all_back() -> None:
    # Given a service process (a sleeping interpreter with a thread of its own) and this one
    every = sorted(os.sched_getaffinity(0))
    code = "import threading, time; threading.Thread(target=time.sleep, args=(60,)).start()"
    service = subprocess.Popen([sys.executable, "-c", code])
    try:
        # When they are set apart
        with apart([service.pid]) as moved:
            during = cores_of(service.pid), cores_of(os.getpid())
        after = cores_of(service.pid), cores_of(os.getpid())
    finally:
        service.kill()
        service.wait()
    # Then, on a machine with more than one core, the service ran on the last core alone
    # and this process on the others; on one core nothing moved. Afterwards both have all.
    if len(every) > 1:
        assert moved is True
        assert during == ({every[-1]}, set(every[:-1]))
    else:
        assert moved is False
        assert during == ({every[0]}, {every[0]})
    assert after == (set(every), set(every))
