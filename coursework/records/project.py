"""Where the project itself is: its root folder (the clone), which holds ``experiments/``,
``locks/``, ``models/`` and ``report_templates/``, wherever a command is run from."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"
LOCKS = ROOT / "locks"
REPORT_TEMPLATES = ROOT / "report_templates"
