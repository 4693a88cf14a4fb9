"""A sandbox for what ``make mark`` runs of a submission: its re-runs and its LaTeX compile.

Debian's bubblewrap (``bwrap``) makes a fresh mount, network, process and IPC namespace per
command. Inside it:

- no network (a new, empty network namespace: not even the host's loopback);
- the system folders the tools need, read-only: ``/usr`` (and the ``/bin``, ``/lib``
  links), a few named files and folders of ``/etc`` (TeX's configuration, the loader's
  cache, ``alternatives``; never ``passwd`` or ``shadow``), TeX's generated formats, this
  Python and its environment;
- the submission's unpacked files read-only, its work folder the only folder writable; the
  datasets a re-run needs read-only (``$COURSEWORK_DATA_DIR``);
- nothing else: the marker's home, this clone and other submissions are not there, ``/``
  and ``/tmp`` (a fresh empty one) are read-only (``TMPDIR`` is in the work folder); every
  capability dropped, the environment cleared but for what is given.

Where bwrap is missing or cannot make namespaces here (some containers), :func:`choose`
says why; marking then runs nothing of a submission unless the marker says ``UNSAFE=1``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

INSTALL = "sudo apt-get install bubblewrap"
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
        writable: Path,
        readable: list[Path],
        env: dict[str, str],
    ) -> tuple[list[str], dict[str, str]]:
        """``cmd`` as it runs in this sandbox, and the environment to start it with.

        Args:
            cmd: the command, with absolute paths (they are the same inside).
            cwd: where it runs (inside ``writable`` or ``readable``).
            writable: the one folder it may write.
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
        args += [
            "--bind",
            str(writable),
            str(writable),
            "--remount-ro",
            "/",
            "--remount-ro",
            "/tmp",
            "--chdir",
            str(cwd),
            "--clearenv",
        ]
        args += [x for k, v in sorted(env.items()) for x in ("--setenv", k, v)]
        return [*args, "--", *cmd], {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


@functools.cache
def bwrap_problem(scratch: str) -> str | None:
    """Why bwrap cannot sandbox here (not installed, or no namespaces), or None; the probe's
    folder is made in ``scratch`` (the marking folder: nothing is written elsewhere)."""
    if shutil.which("bwrap") is None:
        return f"bubblewrap (bwrap) is not installed: {INSTALL}"
    try:
        with tempfile.TemporaryDirectory(prefix=".bwrap-probe-", dir=scratch) as tmp:
            cmd, env = Sandbox("bwrap").command(
                ["/bin/true"], cwd=Path(tmp), writable=Path(tmp), readable=[], env={}
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
