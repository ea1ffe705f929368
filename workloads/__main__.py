"""``python -m workloads``: the same entry point as the ``workloads`` console script."""

from workloads.cli import main

if __name__ == "__main__":
    main(prog_name="workloads")
