"""A sandbox for what ``make mark`` runs of a submission: its re-runs and its LaTeX compile.

Debian's bubblewrap (``bwrap``) makes a fresh mount, network, process and IPC namespace per
command. Inside it:

- no network (a new, empty network namespace: not even the host's loopback);
- the system folders the tools need, read-only: ``/usr`` (and the ``/bin``, ``/lib``
  links), a few named files and folders of ``/etc`` (TeX's configuration, the loader's
  cache, ``alternatives``; never ``passwd`` or ``shadow``), TeX's generated formats, this
  Python and its environment;
- what it is handed read-only (the code the marker staged, the submission's unpacked files
  for a check, the datasets a re-run needs, ``$COURSEWORK_DATA_DIR``); its one writable
  folder a fresh tmpfs of the marker's size (nothing it writes reaches the marker's disk,
  and nothing of it survives the command);
- nothing else: the marker's home, this clone and other submissions are not there, ``/``
  and ``/tmp`` (a fresh empty one) are read-only (``TMPDIR`` is in the work folder); every
  capability dropped, the environment cleared but for what is given.

Where bwrap is missing or cannot make namespaces here (some containers), :func:`choose`
says why; marking then runs nothing of a submission unless the marker says ``UNSAFE=1``.
Every command runs under the marker's limits (:mod:`coursework.verify.bounded`), through
:func:`call`.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coursework.verify import bounded
from coursework.verify.bounded import Limits, Outcome

INSTALL = "apt-get install bubblewrap (as root, or with sudo)"
ENGINE = ".engine"  # the marker's code, staged in the marking folder: what runs inside
STAGED = (  # the parts of the marker's project a command inside needs
    "coursework",
    "models",
    "experiments",
    "report_templates",
    "locks",
    "report.toml",
    "pyproject.toml",
)
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC = (
    "alternatives",
    "texmf",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "fonts",
    "papersize",
    "paperspecs",
)
TEX_VAR = ("/var/lib/texmf",)  # Debian's generated formats (pdflatex.fmt)
GPU_DEVICES = (
    "nvidia0",
    "nvidia1",
    "nvidia2",
    "nvidia3",
    "nvidia4",
    "nvidia5",
    "nvidia6",
    "nvidia7",
    "nvidiactl",
    "nvidia-uvm",
    "nvidia-uvm-tools",
    "nvidia-modeset",
)


NO_SANDBOX = "none (no bwrap: reading only)"  # the inspection's, where bwrap cannot run


@dataclass(frozen=True)
class Sandbox:
    """How a submission's commands run: ``kind`` is ``bwrap``, or ``none (UNSAFE=1)``."""

    kind: str

    @property
    def safe(self) -> bool:
        """Whether it is a real sandbox (bubblewrap), not the unsafe ``none``."""
        return self.kind == "bwrap"

    def command(
        self,
        cmd: list[str],
        *,
        cwd: Path,
        work: Path,
        disk: int,
        readable: list[Path],
        env: dict[str, str],
    ) -> tuple[list[str], dict[str, str]]:
        """``cmd`` as it runs in this sandbox, and the environment to start it with.

        Args:
            cmd: the command, with absolute paths (they are the same inside).
            cwd: where it runs (inside ``work`` or ``readable``).
            work: the one folder it may write: inside the sandbox a fresh tmpfs of ``disk``
                bytes at this path (the folder itself, outside, is never written); without
                a sandbox, the folder.
            disk: the most its work folder may hold.
            readable: folders or files it may read (missing ones are left out).
            env: its whole environment (nothing of the marker's is passed on).
        """
        if not self.safe:
            return cmd, env
        args = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
        for path in SYSTEM:
            if Path(path).is_symlink():
                args += ["--symlink", os.readlink(path), path]
            elif Path(path).is_dir():
                args += ["--ro-bind", path, path]
        args += [x for name in ETC for x in ("--ro-bind-try", f"/etc/{name}", f"/etc/{name}")]
        args += [x for path in TEX_VAR for x in ("--ro-bind-try", path, path)]
        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]  # before binds below
        for path in dict.fromkeys([sys.base_prefix, sys.prefix, *map(str, readable)]):
            system = path == "/usr" or path.startswith(("/usr/", "/etc/"))
            if not system and Path(path).exists():
                args += ["--ro-bind", path, path]
        args += [x for d in GPU_DEVICES for x in ("--dev-bind-try", f"/dev/{d}", f"/dev/{d}")]
        args += ["--size", str(disk), "--tmpfs", str(work)]
        args += ["--remount-ro", "/", "--remount-ro", "/tmp", "--chdir", str(cwd), "--clearenv"]
        args += [x for k, v in sorted(env.items()) for x in ("--setenv", k, v)]
        return [*args, "--", *cmd], {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def call(
    box: Sandbox,
    kind: str,
    request: dict[str, Any],
    *,
    code: Path,
    work: Path,
    readable: list[Path],
    limits: Limits,
    env: dict[str, str] | None = None,
) -> tuple[dict[str, Any] | None, Outcome]:
    """Run :mod:`coursework.verify.inside`'s ``kind`` on ``request`` in ``box`` under
    ``limits``, the Python package of ``code`` (a folder the marker made, read-only inside)
    first on its path: its answer (None where it gave none) and how it ended. ``work`` is its
    only writable folder, emptied after."""
    _empty(work)
    tmp = work / "tmp"
    full = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(work / "home"),
        "TMPDIR": str(tmp),
        "KERAS_HOME": str(tmp / "keras"),
        "MPLCONFIGDIR": str(tmp / "matplotlib"),
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "COURSEWORK_CACHE": str(tmp / "coursework"),
        **(env or {}),
    }
    cmd = [sys.executable, "-E", "-s", "-B", "-m", "coursework.verify.inside", kind]
    cmd, run_env = box.command(
        cmd, cwd=code, work=work, disk=limits.disk, readable=[code, *readable], env=full
    )
    stdin = json.dumps({**request, "work": str(work)}).encode()
    try:
        outcome = bounded.run(cmd, env=run_env, cwd=code, limits=limits, stdin=stdin)
    finally:
        _empty(work)  # nothing of it survives (a tmpfs inside: already gone)
    answer = None
    if outcome.stopped is None:
        try:
            answer = json.loads(outcome.output)
        except ValueError:
            answer = None
    return answer if isinstance(answer, dict) else None, outcome


def stage(dest: Path, parts: dict[str, Path]) -> Path:
    """``dest`` made anew from ``parts`` (name in it -> a file or folder to copy): regular
    files only (never a link, a ``__pycache__`` or a ``.pyc``), the code a command inside
    runs; ``dest``."""
    _empty(dest)
    for name, src in parts.items():
        if src.is_file() and not src.is_symlink():
            shutil.copyfile(src, dest / name)
            continue
        for top, dirs, files in os.walk(src):  # links to folders are not walked
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            rel = Path(top).relative_to(src)
            (dest / name / rel).mkdir(parents=True, exist_ok=True)
            for f in files:
                path = Path(top) / f
                if not path.is_symlink() and path.is_file() and path.suffix != ".pyc":
                    shutil.copyfile(path, dest / name / rel / f)
    return dest


def data_folders() -> list[Path]:
    """The marker's datasets folder, where one is set: what a re-run reads its data from."""
    folder = os.environ.get("COURSEWORK_DATA_DIR")
    return [Path(folder).expanduser().resolve()] if folder else []


def data_env() -> dict[str, str]:
    """The environment that names it, inside."""
    return {"COURSEWORK_DATA_DIR": str(p) for p in data_folders()[:1]}  # noqa: B035 - one


def _empty(folder: Path) -> None:
    """``folder`` made anew, empty (a link in its place removed, never followed)."""
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    shutil.rmtree(folder, ignore_errors=True)  # never follows a link inside
    folder.mkdir(parents=True)


@functools.cache
def bwrap_problem(scratch: str) -> str | None:
    """Why bwrap cannot sandbox here (not installed, or no namespaces), or None; the probe's
    folder is made in ``scratch`` (the marking folder: nothing is written elsewhere)."""
    if shutil.which("bwrap") is None:
        return f"bubblewrap (bwrap) is not installed: {INSTALL}"
    try:
        with tempfile.TemporaryDirectory(prefix=".bwrap-probe-", dir=scratch) as tmp:
            cmd, env = Sandbox("bwrap").command(
                ["/bin/true"], cwd=Path(tmp), work=Path(tmp), disk=1 << 20, readable=[], env={}
            )
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap cannot start here: {exc}"
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        return f"bwrap cannot make a sandbox here ({why}); in a container, see docs/marking.md"
    return None


def choose(unsafe: bool, scratch: Path) -> Sandbox | str:
    """The sandbox to use, or (a string) why nothing of a submission may run; ``scratch``:
    a folder the probe may write in."""
    problem = bwrap_problem(str(scratch))
    if problem is None:
        return Sandbox("bwrap")
    if unsafe:
        return Sandbox("none (UNSAFE=1)")
    return f"{problem}; UNSAFE=1 runs it without a sandbox"
