"""Knowledge fills gaps: values nobody reported, derived from values somebody did.

A pasted `nvidia-smi` may give a driver version and GPU names but no compute capability; a
`collect_env` dump gives torch's version and CUDA but not its architecture list. What
``compat.toml`` knows fills them in, and ``provenance`` says each was derived and from what. A
value that was observed is never replaced.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from envcheck import compat
from envcheck.facts import Facts


def fill(facts: Facts) -> Facts:
    provenance = dict(facts.provenance)
    driver, torch, gpus = facts.driver, facts.torch, list(facts.gpus)

    if not driver.cuda and driver.version and compat.version_tuple(driver.version):
        cuda = compat.newest_cuda_for_driver(driver.version)
        if cuda:
            driver = _set(driver, "cuda", cuda)
            provenance["driver.cuda"] = f"derived from driver {driver.version} (compat.toml)"

    for i, gpu in enumerate(gpus):
        if gpu.compute_capability or not (gpu.name or gpu.pci_device_id):
            continue
        known = compat.gpu_by_name(gpu.name or "") or compat.gpu_by_pci_id(gpu.pci_device_id)
        if known:
            gpus[i] = _set(gpu, "compute_capability", known.capability)
            what = f"name {gpu.name!r}" if gpu.name else f"PCI id {gpu.pci_device_id}"
            provenance[f"gpus[{i}].compute_capability"] = f"derived from the {what} (compat.toml)"

    if not torch.cuda and torch.version and "cuda" in torch.unavailable:
        tag = compat.build_tag(torch.version)
        if tag and tag.startswith("cu"):
            torch = _set(torch, "cuda", f"{tag[2:-1]}.{tag[-1]}")
            provenance["torch.cuda"] = f"derived from the version {torch.version}"
    if not torch.arch_list and torch.version and torch.cuda and "arch_list" in torch.unavailable:
        build = compat.find_build(torch.version, torch.cuda)
        if build:
            torch = _set(torch, "arch_list", list(build.arch_list))
            provenance["torch.arch_list"] = (
                f"derived from the official torch {build.torch} {build.name} build (compat.toml)"
            )
    return dataclasses.replace(facts, driver=driver, torch=torch, gpus=gpus, provenance=provenance)


def _set(section: Any, name: str, value: Any) -> Any:
    unavailable = {k: v for k, v in section.unavailable.items() if k != name}
    return dataclasses.replace(section, **{name: value, "unavailable": unavailable})
