"""Engine: training with Keras. A model from a run's config (:mod:`.network`), augmentation
(:mod:`.augment`), one epoch as one compiled program per backend (:mod:`.loop`), one run
and seed from start to test (:mod:`.seed_run`), many of them scheduled (:mod:`.trainer`) and the
speed of a network measured (:mod:`.calibrate`). Builds on the packages below it."""
