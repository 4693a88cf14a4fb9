"""Nielsen's chapter-6 ladder (network3.py): every rung is a conv-pool network.

The rungs differ only in hyperparameters (conv maps, activation, hidden layers, dropout), so
the ladder uses the same builder as the ``conv`` question; the spec lists each rung.
"""

from models.conv import build

__all__ = ["build"]
