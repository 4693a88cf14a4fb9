"""Runtime: the Keras backend chosen and its settings (:mod:`.backend`), the machine and
versions (:mod:`.env`) and worker processes (:mod:`.workers`). No Keras is imported until a
function asks for it. Builds on :mod:`coursework.records`."""
