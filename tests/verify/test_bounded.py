"""The marker's limits on a command of a submission (verify/bounded.py), by the kernel's
cgroup where one can be made here (as root) and by the watch of /proc where not: over its
memory, tasks, time or result bytes it is killed with what it started, and says why; its
log keeps its two ends."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from coursework.verify import bounded
from coursework.verify.bounded import Limits

LIMITS = Limits(seconds=20, memory=300 << 20, tasks=40, disk=8 << 20, output=1 << 20, log=4096)
ATTACKS = {
    "memory": ("import numpy as np\na = np.ones((2 << 30) // 8)\nprint(a.sum())", "memory"),
    "tasks": (
        "import subprocess, time\n"
        "kids = [subprocess.Popen(['sleep', '30']) for _ in range(100)]\ntime.sleep(30)",
        "processes and threads",
    ),
    "time": ("import time\ntime.sleep(60)", "ran past 2 s"),
    "output": ("import sys\nsys.stdout.write('x' * (2 << 20))", "result is over"),
}


def run(code: str, limits: Limits = LIMITS, cgroup: bool = True) -> bounded.Outcome:
    return bounded.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin"},
        cwd=Path("/"),
        limits=limits,
        cgroup=cgroup,
    )


@pytest.mark.parametrize("cgroup", [True, False], ids=["kernel where it can", "watch"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_command_over_a_limit_is_stopped_and_says_why(attack, cgroup):
    code, why = ATTACKS[attack]
    limits = Limits(**{**LIMITS.__dict__, "seconds": 2}) if attack == "time" else LIMITS
    out = run(code, limits, cgroup)
    assert out.stopped is not None and why in out.stopped, (out.stopped, out.log[-500:])
    assert out.output == b""
    assert out.seconds < 15


def test_a_command_within_its_limits_gives_its_result_and_the_ends_of_its_log():
    code = (
        "import sys\nsys.stderr.write('first' + 'y' * 100000 + 'last')\n"
        "print(len(sys.stdin.read()))"
    )
    out = bounded.run(
        [sys.executable, "-c", code],
        env={"PATH": "/usr/bin:/bin"},
        cwd=Path("/"),
        limits=LIMITS,
        stdin=b"z" * 300000,
    )
    assert out.stopped is None and out.returncode == 0 and out.output == b"300000\n"
    assert out.log.startswith("first") and out.log.endswith("last")
    assert "bytes left out" in out.log and len(out.log) < 5000


def test_a_file_over_the_disk_limit_is_refused():
    out = run("open('/tmp/cw-bounded-test', 'wb').write(b'x' * (16 << 20))", cgroup=False)
    Path("/tmp/cw-bounded-test").unlink(missing_ok=True)
    assert out.returncode != 0 and "File too large" in out.log, out.log[-500:]
