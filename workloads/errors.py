"""The error types a workload raises for problems the user can fix (bad options, bad data)."""


class WorkloadError(Exception):
    """A problem with what was asked for (unknown model, no CUDA device, ...).

    The CLI turns it into one line and exit code 2; the message names the option and the value.
    """


class DataError(WorkloadError):
    """Data that cannot be used: a bad file, a missing data folder, a failed download.

    Raised before anything trains; the CLI prints it as one line (no usage text) and exits 2.
    The message names the file or folder and the problem, and the command that fixes it where
    there is one.
    """
