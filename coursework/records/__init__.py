"""Records: what is on disk and what it means, with no framework. The experiment specs
(:mod:`.spec`), the results layout and its one atomic write (:mod:`.results`), the datasets
(:mod:`.data`, :mod:`.images`), the user errors (:mod:`.errors`) and where the project is
(:mod:`.project`). Imports nothing else of ``coursework``."""
