"""The data layer: datasets by name, read and checked (:mod:`coursework.data.datasets`), their
arrays (:mod:`coursework.data.arrays`), the named datasets' files (:mod:`coursework.data.named`),
folders of images and the file formats read safely. Above records, below runtime."""
