"""Run what a submission brings under limits that the marker sets: wall time, memory and
tasks of the whole process tree, bytes written, and bytes read back.

Everything ``make mark`` runs of a submission, and every parse of its files, goes through
:func:`run`: a child process whose output comes back only through pipes (never a file the
child could have replaced by a link), read with a cap. The limits are the kernel's where it
can enforce them (a cgroup, v2 or v1, made for the one command, when the marker may make one:
as root), else a watch of the process tree every :data:`TICK` seconds; either way a command
over a limit is killed with everything it started, and the reason is the outcome. File sizes
are capped by ``RLIMIT_FSIZE`` and, in the sandbox, by the size of its only writable folder
(a tmpfs, :mod:`.sandbox`).
"""

from __future__ import annotations

import contextlib
import os
import resource
import selectors
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from coursework.verify.processes import Group, tree, usage

TICK = 0.05  # seconds between two looks at the process tree
GiB = 1 << 30


@dataclass(frozen=True)
class Limits:
    """What one command of a submission may use; the marker's, never the submission's.

    Args:
        seconds: wall time.
        memory: bytes of memory of its whole process tree.
        tasks: processes and threads at once.
        disk: bytes it may write (its work folder's size; each file's, without a sandbox).
        output: bytes of its result (standard output) read back; more is a failure.
        log: bytes of its log (standard error) kept: the first and the last halves.
    """

    seconds: float
    memory: int = 4 * GiB
    tasks: int = 512
    disk: int = 2 * GiB
    output: int = 64 << 20
    log: int = 256 << 10

    def words(self) -> str:
        """The limits in a line, for a sheet."""
        return (
            f"{self.seconds:.0f} s, {self.memory / GiB:.1f} GiB memory, {self.tasks} tasks, "
            f"{self.disk / GiB:.1f} GiB disk"
        )


@dataclass
class Outcome:
    """How a command ended: its exit status, its result (standard output, whole or nothing)
    and log (standard error, head and tail), and why it was stopped (None: it ended by
    itself)."""

    returncode: int
    output: bytes
    log: str
    stopped: str | None
    peak_memory: int  # bytes, as the cgroup or the watch saw it
    seconds: float
    enforced_by: str  # "cgroup v2", "cgroup v1" or "watch"


# --------------------------------------------------------------------------- running


class Capped:
    """What a pipe carries, kept within a cap: whole up to ``cap`` bytes (``over`` past it),
    or, with ``ends``, its first and last halves of ``cap`` (the middle counted)."""

    def __init__(self, cap: int, ends: bool) -> None:
        self.cap, self.ends = cap, ends
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    @property
    def over(self) -> bool:
        return self.total > self.cap

    def add(self, data: bytes) -> None:
        self.total += len(data)
        if not self.ends:
            if len(self.head) <= self.cap:
                self.head += data[: self.cap + 1 - len(self.head)]
            return
        room = self.cap // 2 - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        self.tail += data
        if len(self.tail) > self.cap // 2:
            del self.tail[: len(self.tail) - self.cap // 2]

    def text(self) -> str:
        dropped = self.total - len(self.head) - len(self.tail)
        middle = f"\n[... {dropped:,} bytes left out ...]\n" if dropped > 0 else ""
        return (bytes(self.head) + middle.encode() + bytes(self.tail)).decode(errors="replace")


def _limit_files(disk: int) -> None:
    """In the child: no file over ``disk`` bytes, no core dump, a session of its own."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (disk, disk))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run(
    cmd: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    limits: Limits,
    stdin: bytes = b"",
    cgroup: bool = True,
) -> Outcome:
    """Run ``cmd`` under ``limits``; its standard input is ``stdin``, its standard output
    the result (capped at ``limits.output``), its standard error the log (head and tail).

    Args:
        cmd: the command (a sandbox's, :meth:`coursework.verify.sandbox.Sandbox.command`).
        env: its whole environment.
        cwd: where it starts.
        limits: the marker's limits.
        stdin: bytes written to its standard input (then closed).
        cgroup: use a cgroup where one can be made (False: the watch alone).
    """
    group = Group.make(limits.memory, limits.tasks) if cgroup else None

    def start() -> None:
        _limit_files(limits.disk)
        if group is not None:
            group.join()

    began = time.monotonic()
    with _temporary(group):
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=start,  # noqa: PLW1509 - only setrlimit and a write, before exec
            start_new_session=True,
        )
        out, log = Capped(limits.output, ends=False), Capped(limits.log, ends=True)
        stopped, peak = _supervise(proc, stdin, out, log, limits, group, began)
    if stopped is None and out.over:
        stopped = f"its result is over {limits.output:,} bytes"
    return Outcome(
        proc.returncode if proc.returncode is not None else -9,
        b"" if out.over else bytes(out.head),
        log.text(),
        stopped,
        peak,
        time.monotonic() - began,
        group.kind if group else "watch",
    )


@contextlib.contextmanager
def _temporary(group: Group | None) -> Iterator[None]:
    try:
        yield
    finally:
        if group is not None:
            group.kill()
            group.remove()


def _supervise(
    proc: subprocess.Popen,
    stdin: bytes,
    out: Capped,
    log: Capped,
    limits: Limits,
    group: Group | None,
    began: float,
) -> tuple[str | None, int]:
    """Feed, read and watch ``proc`` until it and its pipes end, or a limit is passed."""
    assert proc.stdin and proc.stdout and proc.stderr
    sel = selectors.DefaultSelector()
    pending = memoryview(stdin)
    for pipe, sink in ((proc.stdout, out), (proc.stderr, log)):
        os.set_blocking(pipe.fileno(), False)
        sel.register(pipe, selectors.EVENT_READ, sink)
    if pending:
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin, selectors.EVENT_WRITE, None)
    else:
        proc.stdin.close()
    stopped: str | None = None
    peak = 0
    next_look = 0.0
    while sel.get_map():
        for key, _ in sel.select(timeout=TICK):
            if key.data is None:  # its standard input
                pending = _feed(sel, key, pending)
                continue
            data = os.read(key.fd, 65536)
            if not data:
                sel.unregister(key.fileobj)
                continue
            key.data.add(data)
            if out.over and stopped is None:
                stopped = f"its result is over {limits.output:,} bytes"
        now = time.monotonic()
        if stopped is None and now >= next_look:
            next_look = now + TICK
            stopped, memory = _look(proc.pid, limits, group, now - began)
            peak = max(peak, memory)
        if stopped is not None:
            _kill(proc, group)
            break
    for key in list(sel.get_map().values()):
        sel.unregister(key.fileobj)
        with contextlib.suppress(OSError):
            key.fileobj.close()  # type: ignore[union-attr]
    return _ended(proc, limits, group, began, stopped), peak


def _feed(
    sel: selectors.BaseSelector, key: selectors.SelectorKey, pending: memoryview
) -> memoryview:
    """Write what the command's standard input still wants; close it when all is sent."""
    try:
        sent = os.write(key.fd, pending[:65536])
    except BlockingIOError:
        sent = 0
    except BrokenPipeError:  # it stopped reading: the rest is not wanted
        sent = len(pending)
    if sent == len(pending):
        sel.unregister(key.fileobj)
        key.fileobj.close()  # type: ignore[union-attr]
    return pending[sent:]


def _ended(
    proc: subprocess.Popen,
    limits: Limits,
    group: Group | None,
    began: float,
    stopped: str | None,
) -> str | None:
    """Wait for the command (its pipes closed) within its time; why it was stopped, the
    kernel's refusals included."""
    try:
        proc.wait(timeout=max(1.0, limits.seconds - (time.monotonic() - began)))
    except subprocess.TimeoutExpired:
        stopped = stopped or f"it ran past {limits.seconds:.0f} s"
        _kill(proc, group)
        proc.wait()
    if stopped is None and group is not None:
        _, killed = group.memory()
        if killed:
            stopped = f"it went over {limits.memory / GiB:.1f} GiB of memory"
        elif group.tasks_refused() and proc.returncode != 0:
            stopped = f"it went over {limits.tasks} processes and threads"
    return stopped


def _look(pid: int, limits: Limits, group: Group | None, elapsed: float) -> tuple[str | None, int]:
    """Whether the command is over a limit now, and its memory."""
    if elapsed > limits.seconds:
        return f"it ran past {limits.seconds:.0f} s", 0
    if group is not None:
        memory, killed = group.memory()
        if killed:
            return f"it went over {limits.memory / GiB:.1f} GiB of memory", memory
        if group.tasks_refused():
            return f"it went over {limits.tasks} processes and threads", memory
        return None, memory
    memory, tasks = usage(tree(pid))
    if memory > limits.memory:
        return f"it went over {limits.memory / GiB:.1f} GiB of memory", memory
    if tasks > limits.tasks:
        return f"it went over {limits.tasks} processes and threads", memory
    return None, memory


def _kill(proc: subprocess.Popen, group: Group | None) -> None:
    """Kill the command and everything it started (its cgroup, its tree, its session)."""
    if group is not None:
        group.kill()
    for pid in reversed(tree(proc.pid)):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
