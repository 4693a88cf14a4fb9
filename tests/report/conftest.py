"""What every figure test of tests/report/ shares."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pytest

from coursework.report import figstyle


@pytest.fixture(autouse=True)
def paper_style():
    """Each test draws in the paper's style, and its figures are closed after it."""
    with matplotlib.rc_context():
        figstyle.style()
        yield
    plt.close("all")
