"""The one error type a workload raises for problems the user can fix (bad options)."""


class WorkloadError(Exception):
    """A problem with what was asked for (unknown model, no CUDA device, ...).

    The CLI turns it into one line and exit code 2; the message names the option and the value.
    """
