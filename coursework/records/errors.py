"""The errors a user can cause, each with a message that names the file and what to do.

The command line prints ``error: <message>`` for any of them and exits with status 2; every
other exception is a bug (or a failed run, recorded as such).
"""


class CourseworkError(Exception):
    """A user error: a bad spec, dataset, results folder, backend or report input."""


class SpecError(CourseworkError):
    """A spec is invalid; the message names the file, the run and the key."""


class DataError(CourseworkError):
    """A dataset cannot be found, read or used; the message names the file and array."""


class ResultsError(CourseworkError):
    """A results file cannot be written or read; the message names the file."""


class ReportError(CourseworkError):
    """The report could not be built; the message says why and where."""


class BackendError(CourseworkError):
    """The chosen Keras backend is unknown or not installed; the message says how to fix it."""


class SubmissionError(CourseworkError):
    """A handed-in archive cannot be unpacked safely; the message names the archive and the
    entry."""
