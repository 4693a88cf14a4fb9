"""Output of processes that share a terminal: each line one write, so lines never mix."""

from __future__ import annotations

import io
import sys

from coursework.runtime import workers


class Writes(io.RawIOBase):
    """A raw stream that keeps each write it is given."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.calls.append(bytes(data))
        return len(data)


def test_a_printed_line_is_one_write_where_output_is_unbuffered(monkeypatch):
    """As under PYTHONUNBUFFERED (Docker images, the lab book, Slurm): a print was two writes,
    its text and its newline, and two runs' lines interleaved between them."""
    raw = Writes()
    stream = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)  # python -u's
    monkeypatch.setattr(sys, "stdout", stream)
    workers.whole_lines()
    print("[2/8] augmentation/none seed 1: complete, skipped")
    print("epoch 1/2: loss 0.3")
    assert raw.calls == [
        b"[2/8] augmentation/none seed 1: complete, skipped\n",
        b"epoch 1/2: loss 0.3\n",
    ]
