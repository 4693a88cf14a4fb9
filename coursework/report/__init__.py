"""Report: what a student hands in, from the results files alone (no Keras). The figures
(:mod:`.plots`), the settings of ``report.toml`` (:mod:`.settings`), the student's prose
(:mod:`.prose`), the LaTeX sources and the Overleaf zip (:mod:`.render`), compiling and the
page budget (:mod:`.latex`) and the submission folder (:mod:`.submission`)."""
