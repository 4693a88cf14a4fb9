"""Ensembles over seeds: the majority vote and its ties."""

from __future__ import annotations

import numpy as np

from coursework.analysis.ensemble import vote


def test_vote_breaks_ties_by_probability():
    probs = np.array(
        [
            [[0.9, 0.1, 0.0], [0.6, 0.4, 0.0]],
            [[0.2, 0.8, 0.0], [0.0, 0.3, 0.7]],
            [[0.6, 0.4, 0.0], [0.0, 0.45, 0.55]],
        ]
    )  # 3 members, 2 examples
    assert vote(probs).tolist() == [0, 2]
    tie = np.array([[[0.9, 0.1]], [[0.4, 0.6]]])  # one vote each: higher total prob wins
    assert vote(tie).tolist() == [0]
