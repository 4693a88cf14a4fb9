"""Verify: ``make verify``. The integrity checks of a results folder (:mod:`.integrity`) and
the re-training of runs to compare (:mod:`.reproduce`)."""
