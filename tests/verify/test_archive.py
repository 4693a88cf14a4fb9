"""Unpacking handed-in zips: untrusted input, checked entry by entry before anything is
written, and nothing left behind by a bad one."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from coursework.records.errors import SubmissionError
from coursework.verify import archive


def make_zip(path: Path, entries: dict[str, bytes], modes: dict[str, int] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (modes or {}).get(name, stat.S_IFREG | 0o644) << 16
            z.writestr(info, data)
    return path


def bomb(path: Path, size: int) -> Path:
    """A zip of a few MB that inflates to ``size`` bytes of zeros."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("submission/zeros.bin", "w", force_zip64=True) as f:
            block = bytes(1 << 24)
            for _ in range(size // len(block) + 1):
                f.write(block)
    return path


def test_a_good_zip_unpacks_into_its_folder(tmp_path):
    z = make_zip(tmp_path / "s.zip", {"submission/a.txt": b"a", "submission/d/b.txt": b"b"})
    names = archive.unpack(z, tmp_path / "out")
    assert names == ["submission/a.txt", "submission/d/b.txt"]
    assert (tmp_path / "out/submission/d/b.txt").read_bytes() == b"b"


@pytest.mark.parametrize(
    ("entries", "modes", "why"),
    [
        ({"submission/../../evil.txt": b"x"}, None, "outside"),
        ({"/etc/evil.txt": b"x"}, None, "outside"),
        ({"submission\\..\\evil.txt": b"x"}, None, "backslash"),
        ({"C:/evil.txt": b"x"}, None, "drive letter"),
        (
            {"submission/link": b"/etc/passwd"},
            {"submission/link": stat.S_IFLNK | 0o777},
            "symbolic link",
        ),
        ({"submission/dev": b""}, {"submission/dev": stat.S_IFCHR | 0o644}, "device file"),
        ({"submission/fifo": b""}, {"submission/fifo": stat.S_IFIFO | 0o644}, "FIFO"),
    ],
)
def test_a_bad_entry_is_one_error_naming_it_and_nothing_is_written(tmp_path, entries, modes, why):
    z = make_zip(tmp_path / "bad.zip", {"submission/fine.txt": b"ok", **entries}, modes)
    with pytest.raises(SubmissionError) as err:
        archive.unpack(z, tmp_path / "out")
    assert "bad.zip" in str(err.value) and why in str(err.value)
    assert repr(next(iter(entries))) in str(err.value)  # names the entry
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()


def test_not_a_zip_and_too_many_files_are_errors(tmp_path):
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"this is not a zip archive at all")
    with pytest.raises(SubmissionError, match="junk.zip: not a zip archive"):
        archive.unpack(junk, tmp_path / "out")
    many = make_zip(tmp_path / "many.zip", {f"s/{i}.txt": b"" for i in range(30)})
    with pytest.raises(SubmissionError, match="30 files, over the limit of 20"):
        archive.unpack(many, tmp_path / "out", max_files=20)


def test_a_zip_bomb_is_stopped_by_its_declared_size_and_by_what_really_inflates(tmp_path):
    small = bomb(tmp_path / "bomb.zip", 40 << 20)
    assert small.stat().st_size < 1 << 20
    with pytest.raises(SubmissionError, match="over the limit .* zip bomb"):
        archive.unpack(small, tmp_path / "out", max_bytes=20 << 20)
    # a header that understates the size: the bytes are counted as they inflate
    data = bytearray(small.read_bytes())
    with zipfile.ZipFile(small) as z:
        info = z.infolist()[0]
    real = info.file_size.to_bytes(8, "little")
    fake = (1000).to_bytes(8, "little")
    data = bytearray(bytes(data).replace(real, fake))
    lying = tmp_path / "lying.zip"
    lying.write_bytes(bytes(data))
    with pytest.raises(SubmissionError) as err:
        archive.unpack(lying, tmp_path / "out", max_bytes=20 << 20)
    assert "lying.zip" in str(err.value)
    assert not (tmp_path / "out").exists()
