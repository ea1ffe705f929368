"""The images' entry point: prove the image is what it says, then that it computes.

    docker run --gpus all IMAGE [all|check|digits] [OPTIONS...]

- ``check``: envcheck with the image's pins as expectations (/etc/gpu-envkit/expect.toml).
- ``digits``: the digits workload alone (its workloads.digits/1 JSON on stdout).
- ``all`` (the default): ``check`` with the digits workload judged as one more check.

The JSON report goes to stdout, the human report to stderr, and the exit code is the verdict
(0 ready, 1 not ready, 2 bad usage). Options after the part go to the command it runs. The
process is replaced (exec), so signals from ``docker stop`` reach envcheck directly.
"""

from __future__ import annotations

import os
import sys

EXPECT = "/etc/gpu-envkit/expect.toml"
PARTS = ("all", "check", "digits")


def command(argv: list[str], expect: str = EXPECT) -> list[str]:
    """The command line for a part and its options; raises ValueError for an unknown part."""
    part, rest = (argv[0], argv[1:]) if argv and not argv[0].startswith("-") else ("all", argv)
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}: expected one of {', '.join(PARTS)}")
    python = sys.executable
    check = [python, "-m", "envcheck", "check", "--json", "--expect", expect]
    if part == "check":
        return [*check, *rest]
    if part == "all":
        return [*check, "--with-workloads", *rest]
    return [python, "-m", "workloads", "digits", "--json", "-", *rest]


def main(argv: list[str] | None = None) -> int:
    try:
        cmd = command(sys.argv[1:] if argv is None else argv)
    except ValueError as exc:
        print(f"gpu-envkit: {exc}", file=sys.stderr)
        return 2
    os.execv(cmd[0], cmd)
    return 0  # pragma: no cover - execv does not return


if __name__ == "__main__":
    sys.exit(main())
