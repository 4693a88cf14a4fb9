"""Analysis: from run records to numbers, without Keras. Statistics over seeds
(:mod:`.stats`), ensembles (:mod:`.ensemble`), every number of the report (:mod:`.tables`),
the manifest (:mod:`.manifest`), verdicts of checks (:mod:`.checks`) and the files shared by
all runs (:mod:`.aggregates`). Builds on :mod:`coursework.records` and
:mod:`coursework.runtime`."""
