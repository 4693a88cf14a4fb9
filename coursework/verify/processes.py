"""The process tree of a command a submission brings, as the marker limits it: a cgroup made
for it (v2 or v1, where this process may make one: as root) whose memory and task limits the
kernel enforces and whose processes it kills at once; else the tree read from ``/proc``
(:func:`tree`, :func:`usage`), which :mod:`coursework.verify.bounded` watches."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import time
from pathlib import Path


class Group:
    """A cgroup made for one command, in the hierarchies that limit memory and tasks."""

    counter = itertools.count()

    def __init__(self, kind: str, dirs: dict[str, Path]) -> None:
        self.kind = kind
        self.dirs = dirs  # controller ("memory", "pids"; v2: "unified") -> its folder

    @classmethod
    def make(cls, memory: int, tasks: int) -> Group | None:
        """A new cgroup of at most ``memory`` bytes and ``tasks`` processes and threads, or
        None where this process may not make one."""
        name = f"coursework-mark-{os.getpid()}-{next(cls.counter)}"
        for make in (cls._v2, cls._v1):
            try:
                group = make(name, memory, tasks)
            except OSError:
                group = None
            if group is not None:
                return group
        return None

    @classmethod
    def _v2(cls, name: str, memory: int, tasks: int) -> Group | None:
        for root in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
            control = root / "cgroup.subtree_control"
            if not control.is_file() or not {"memory", "pids"} <= set(control.read_text().split()):
                continue
            folder = root / name
            folder.mkdir()
            group = cls("cgroup v2", {"unified": folder})
            try:
                (folder / "memory.max").write_text(str(memory))
                with contextlib.suppress(OSError):
                    (folder / "memory.swap.max").write_text("0")
                (folder / "pids.max").write_text(str(tasks))
            except OSError:
                group.remove()
                raise
            return group
        return None

    @classmethod
    def _v1(cls, name: str, memory: int, tasks: int) -> Group | None:
        roots = {c: Path("/sys/fs/cgroup") / c for c in ("memory", "pids")}
        if not all((r / "cgroup.procs").is_file() for r in roots.values()):
            return None
        dirs: dict[str, Path] = {}
        group = cls("cgroup v1", dirs)
        try:
            for controller, root in roots.items():
                (root / name).mkdir()
                dirs[controller] = root / name
            (dirs["memory"] / "memory.limit_in_bytes").write_text(str(memory))
            with contextlib.suppress(OSError):  # without swap accounting: RAM only
                (dirs["memory"] / "memory.memsw.limit_in_bytes").write_text(str(memory))
            (dirs["pids"] / "pids.max").write_text(str(tasks))
        except OSError:
            group.remove()
            raise
        return group

    def join(self) -> None:
        """Put the calling process in the group (in the child, before it runs anything)."""
        for folder in self.dirs.values():
            (folder / "cgroup.procs").write_text(str(os.getpid()))

    def pids(self) -> list[int]:
        """The processes in the group now."""
        folder = next(iter(self.dirs.values()))
        try:
            return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def memory(self) -> tuple[int, bool]:
        """Bytes in use now, and whether the kernel killed a process of the group for
        memory (its limit reached; reclaiming the page cache at the limit is not that)."""
        folder = self.dirs.get("memory") or self.dirs["unified"]
        v2 = self.kind == "cgroup v2"
        now = _read(folder / ("memory.current" if v2 else "memory.usage_in_bytes")).strip()
        events = _read(folder / ("memory.events" if v2 else "memory.oom_control"))
        killed = any(
            line.split()[:1] == ["oom_kill"] and line.split()[1:2] != ["0"]
            for line in events.splitlines()
        )
        return int(now or 0), killed

    def tasks_refused(self) -> bool:
        """Whether the kernel refused a new task (the limit reached)."""
        folder = self.dirs.get("pids") or self.dirs["unified"]
        events = _read(folder / "pids.events")
        return any(
            line.startswith("max ") and line.split()[1] != "0" for line in events.split("\n")
        )

    def kill(self) -> None:
        """Kill every process of the group, whatever it started."""
        killer = self.dirs.get("unified", Path("/nonexistent")) / "cgroup.kill"
        if killer.exists():
            with contextlib.suppress(OSError):
                killer.write_text("1")
        for _ in range(100):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def remove(self) -> None:
        """Remove the group's folders (once it is empty)."""
        for folder in self.dirs.values():
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def tree(root: int) -> list[int]:
    """``root`` and every process below it (by parent ids in /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def usage(pids: list[int]) -> tuple[int, int]:
    """Resident bytes and tasks (threads) of ``pids``."""
    page = os.sysconf("SC_PAGE_SIZE")
    rss = tasks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                rss += int(f.read().split()[1]) * page
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
            tasks += int(stat[stat.rfind(b")") + 2 :].split()[17])
        except (OSError, IndexError, ValueError):
            continue
    return rss, tasks
