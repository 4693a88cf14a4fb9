"""Commands: the command line (:mod:`.cli`) and the work of the commands that are not a layer
of their own: ``bench``, ``describe``, ``plan``, ``predict`` / ``evaluate`` and ``slurm``."""
