"""``python -m workloads``: the same entry point as the ``workloads`` console script."""

from workloads.cli import run

if __name__ == "__main__":
    run()
