"""Container plumbing that breaks training even when the GPU is fine."""

from __future__ import annotations

from envcheck.checks import Finding, check, passed, skipped, warned
from envcheck.expect import Expectations
from envcheck.facts import Facts

# DataLoader workers pass batches through shared memory; Docker's default /dev/shm is 64 MiB,
# which kills multi-worker loading with "bus error" or "insufficient shared memory".
MIN_SHM_MIB = 1024


@check("container.shm", "Enough shared memory for DataLoader workers")
def shm(facts: Facts, expect: Expectations) -> Finding:
    """Inside a container, /dev/shm must be large enough for DataLoader worker processes."""
    container = facts.container
    if not container.inside:
        return skipped("not inside a container")
    if container.shm_mib is None:
        return skipped("/dev/shm size unknown")
    if container.shm_mib < MIN_SHM_MIB:
        return warned(
            f"/dev/shm is {container.shm_mib} MiB: DataLoader workers will fail with a bus error",
            "Start the container with a larger /dev/shm, or share the host's IPC namespace.",
            "docker run --shm-size=8g ...",
            "docker run --ipc=host ...",
        )
    return passed(f"/dev/shm is {container.shm_mib} MiB")
