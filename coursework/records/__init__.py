"""Records: what is on disk and what it means, with no framework. The experiment specs
(:mod:`.spec`, checked by :mod:`.validate` from the fields of :mod:`.fields`), a run's typed
config and record (:mod:`.config`, :mod:`.record`), the results layout (:mod:`.layout`), its
one atomic write (:mod:`.storage`), its tables (:mod:`.results`), a run folder's life and locks
(:mod:`.run_folders`, :mod:`.locks`), the model builders (:mod:`.builders`), the datasets' names
(:mod:`.datanames`), the user errors (:mod:`.errors`) and where the project is
(:mod:`.project`). Imports nothing else of ``coursework``."""
