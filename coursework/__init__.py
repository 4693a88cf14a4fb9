"""coursework: from experiment specs to per-epoch CSVs, plots and a LaTeX report."""

import os

# keep TensorFlow's C++ start-up chatter (e.g. "failed call to cuInit" on CPU machines) out
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
