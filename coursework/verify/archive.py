"""Unpacking a handed-in zip safely: it is untrusted input.

Every entry is checked before anything is written: no absolute path, no ``..``, no
backslash or drive letter, no symlink, device file, FIFO or socket, no encrypted or
duplicated entry, no name over 255 bytes, no path that is both a file and a folder, at most
``max_files`` files and ``max_bytes`` bytes unpacked (the sizes the zip declares, and the
bytes really inflated, counted while writing: a zip bomb is stopped at the limit). A bad
archive is one SubmissionError naming it and the entry; nothing of it is left behind.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from coursework.records.errors import SubmissionError

MAX_BYTES = 1 << 30  # 1 GiB unpacked: a submission without weights is a few MB
MAX_FILES = 20_000
CHUNK = 1 << 20
NAME_BYTES = 255  # a file or folder name, as file systems allow


def entry_problem(info: zipfile.ZipInfo) -> str | None:
    """Why an entry may not be unpacked, or None."""
    name = info.filename
    if "\\" in name or "\0" in name or ":" in name.split("/")[0]:
        return "a backslash, NUL or drive letter in its name"
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        return "a path outside the archive's folder"
    if any(len(part.encode("utf-8", "surrogateescape")) > NAME_BYTES for part in path.parts):
        return f"a name over {NAME_BYTES} bytes"
    if info.flag_bits & 0x1:
        return "an encrypted entry"
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_IFMT(mode):  # made on Unix: the file type is known
        if stat.S_ISLNK(mode):
            return "a symbolic link"
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            return "a device file, FIFO or socket"
    return None


def unpack(
    archive: Path,
    dest: Path,
    max_bytes: int = MAX_BYTES,
    max_files: int = MAX_FILES,
) -> list[str]:
    """Check every entry of ``archive``, then unpack it into ``dest`` (made anew); return the
    names of the files written. SubmissionError (and nothing left in ``dest``) if it is not a
    zip or any entry or limit fails."""
    archive, dest = Path(archive), Path(dest)
    try:
        z = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SubmissionError(f"{archive.name}: not a zip archive ({exc})") from None
    with z:
        infos = z.infolist()
        files = [i for i in infos if not i.is_dir()]
        if len(files) > max_files:
            raise SubmissionError(
                f"{archive.name}: {len(files)} files, over the limit of {max_files}"
            )
        seen: set[str] = set()
        for info in infos:
            problem = entry_problem(info)
            if problem:
                raise SubmissionError(f"{archive.name}: entry {info.filename!r}: {problem}")
            key = str(PurePosixPath(info.filename))
            if key in seen:
                raise SubmissionError(f"{archive.name}: entry {info.filename!r} appears twice")
            seen.add(key)
        folders = {str(parent) for key in seen for parent in PurePosixPath(key).parents}
        clash = sorted({str(PurePosixPath(i.filename)) for i in files} & folders)
        if clash:
            raise SubmissionError(f"{archive.name}: entry {clash[0]!r} is a file and a folder")
        declared = sum(i.file_size for i in files)
        if declared > max_bytes:
            raise SubmissionError(
                f"{archive.name}: unpacks to {declared:,} bytes, over the limit"
                f" of {max_bytes:,} (a zip bomb?)"
            )
        if dest.exists():
            shutil.rmtree(dest)
        try:
            return _extract(z, files, archive.name, dest, max_bytes)
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise


def _extract(
    z: zipfile.ZipFile,
    files: list[zipfile.ZipInfo],
    name: str,
    dest: Path,
    max_bytes: int,
) -> list[str]:
    """Write ``files`` of ``z`` under ``dest``, stopping past ``max_bytes`` in all."""
    total, written = 0, []
    dest.mkdir(parents=True)
    for info in files:
        target = dest.joinpath(*PurePosixPath(info.filename).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with z.open(info) as src, open(target, "xb") as out:
                while chunk := src.read(CHUNK):
                    total += len(chunk)
                    if total > max_bytes:
                        raise SubmissionError(
                            f"{name}: unpacks past the limit of {max_bytes:,} bytes (a zip bomb?)"
                        )
                    out.write(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
            raise SubmissionError(
                f"{name}: entry {info.filename!r} cannot be read: {exc}"
            ) from None
        written.append(PurePosixPath(info.filename).as_posix())
    return written
