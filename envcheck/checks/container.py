"""Container plumbing that breaks training even when the GPU is fine."""

from __future__ import annotations

from envcheck import messages
from envcheck.checks import Finding, check, not_reported, passed, skipped, warned
from envcheck.expect import Expectations
from envcheck.facts import Facts

# DataLoader workers pass batches through shared memory; Docker's default /dev/shm is 64 MiB,
# which kills multi-worker loading with "bus error" or "insufficient shared memory".
MIN_SHM_MIB = 1024
SHM_REMEDY = (
    "Give /dev/shm more room: start the container with a larger --shm-size, or share the host's "
    "IPC namespace; on Kubernetes mount an emptyDir with medium: Memory at /dev/shm; outside a "
    "container, check `df -h /dev/shm`. Until then, DataLoader(num_workers=0) avoids shared "
    "memory."
)
SHM_COMMANDS = ("docker run --shm-size=8g ...", "docker run --ipc=host ...", "df -h /dev/shm")


@check("container.shm", "Enough shared memory for DataLoader workers")
def shm(facts: Facts, expect: Expectations) -> Finding:
    """Inside a container, /dev/shm must be large enough for DataLoader worker processes."""
    container = facts.container
    said = messages.first(facts.torch.messages, messages.Kind.SHM_EXHAUSTED)
    if said and (container.shm_mib is None or container.shm_mib < MIN_SHM_MIB):
        return warned(
            f"DataLoader workers ran out of shared memory: {said.line}",
            SHM_REMEDY,
            *SHM_COMMANDS,
        )
    if container.inside is None:
        return skipped(f"whether this is a container: {not_reported(container, 'inside') or '?'}")
    if not container.inside:
        return skipped("not inside a container")
    if container.shm_mib is None:
        return skipped(f"/dev/shm size: {not_reported(container, 'shm_mib') or 'unknown'}")
    if container.shm_mib < MIN_SHM_MIB:
        return warned(
            f"/dev/shm is {container.shm_mib} MiB (< {MIN_SHM_MIB} MiB): DataLoader workers "
            "will fail with a bus error or 'unable to write to file </torch_...>'",
            SHM_REMEDY,
            *SHM_COMMANDS,
        )
    return passed(f"/dev/shm is {container.shm_mib} MiB")
