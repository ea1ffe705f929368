"""Sanity of envcheck/data/compat.toml: the knowledge every rule reads must hang together."""

from __future__ import annotations

import re

import pytest

from envcheck import compat

DATA = compat._data()


def test_every_entry_names_its_source():
    for table in ("cuda", "cuda_major", "architecture", "gpu", "torch_build"):
        for entry in DATA[table]:
            assert entry.get("source", "").strip(), f"[[{table}]] {entry} has no source"


def test_driver_floors_rise_with_the_cuda_release():
    releases = sorted(DATA["cuda"], key=lambda e: compat.version_tuple(e["version"]))
    drivers = [compat.version_tuple(e["min_driver"]) for e in releases]
    assert drivers == sorted(drivers), "a newer CUDA release needs an older driver?"


def test_each_major_floor_runs_that_majors_first_release():
    for entry in DATA["cuda_major"]:
        first = min(
            (e for e in DATA["cuda"] if compat.version_tuple(e["version"])[0] == entry["major"]),
            key=lambda e: compat.version_tuple(e["version"]),
        )
        # The floor is at or above the GA driver of the major's first release.
        assert compat.version_tuple(entry["min_driver"]) >= compat.version_tuple(
            first["min_driver"]
        )


def test_every_gpus_architecture_is_known():
    for entry in DATA["gpu"]:
        assert compat.architecture(entry["capability"]), entry["match"]
        assert entry["segment"] in ("datacenter", "workstation", "geforce", "jetson")


def test_every_gpu_example_matches_its_own_entry_first():
    for entry in DATA["gpu"]:
        for example in entry.get("examples", []):
            model = compat.gpu_by_name(example)
            assert model and model.capability == entry["capability"], (example, entry["match"])


def test_jetson_gpus_are_exactly_the_tegra_capabilities():
    for entry in DATA["gpu"]:
        assert compat.is_tegra(entry["capability"]) == (entry["segment"] == "jetson"), entry


def test_pci_ids_are_unique_device_ids():
    seen: dict[str, str] = {}
    for entry in DATA["gpu"]:
        for pci_id in entry.get("pci_ids", []):
            assert re.fullmatch(r"0x[0-9a-f]{4}", pci_id), pci_id
            assert pci_id not in seen, f"{pci_id} in {seen.get(pci_id)} and {entry['match']}"
            seen[pci_id] = entry["match"]
            assert compat.gpu_by_pci_id(pci_id).capability == entry["capability"]


def test_every_builds_arch_list_parses_and_its_cuda_is_known():
    known_cuda = {e["version"] for e in DATA["cuda"]}
    for build in compat.builds():
        assert build.arch_list, build
        for arch in build.arch_list:
            assert compat._parse_arch(arch), f"{build.torch} {build.name}: {arch!r}"
        assert build.cuda in known_cuda, f"{build.torch} {build.name}: CUDA {build.cuda}"
        assert build.name == "cu" + build.cuda.replace(".", ""), build


def test_builds_reach_back_to_torch_1_8():
    releases = {compat.version_tuple(b.torch)[:2] for b in compat.builds()}
    assert (1, 8) in releases and (2, 0) in releases


@pytest.mark.parametrize(
    ("driver", "cuda"),
    [
        ("410.48", "10.0"),
        ("418.87.00", "10.1"),
        ("470.82.01", "11.4"),
        ("535.104.05", "12.2"),
        ("570.124.04", "12.8"),
        ("580.65.06", "13.0"),
        ("300.1", None),
    ],
)
def test_newest_cuda_for_a_driver(driver, cuda):
    assert compat.newest_cuda_for_driver(driver) == cuda


@pytest.mark.parametrize(
    ("name", "capability", "forward_compat"),
    [
        ("NVIDIA GeForce RTX 3090", "8.6", False),
        ("GeForce GTX 1080 Ti", "6.1", False),
        ("Tesla V100-SXM2-32GB", "7.0", True),
        ("NVIDIA A100-SXM4-80GB", "8.0", True),
        ("NVIDIA A10", "8.6", True),
        ("NVIDIA H100 80GB HBM3", "9.0", True),
        ("NVIDIA GeForce RTX 5090", "12.0", False),
        ("Tesla K80", "3.7", True),
        ("NVIDIA RTX A6000", "8.6", False),
        ("Quadro RTX 6000", "7.5", False),
    ],
)
def test_gpu_names(name, capability, forward_compat):
    model = compat.gpu_by_name(name)
    assert model and (model.capability, model.forward_compat) == (capability, forward_compat)


def test_a_name_nvidia_smi_cut_short_is_not_guessed():
    assert compat.gpu_by_name("NVIDIA GeForce ...") is None


@pytest.mark.parametrize(
    ("runtime", "driver_cuda", "driver", "runs"),
    [
        ("12.4", "12.2", "535.104.05", True),  # minor-version compatibility
        ("11.8", "11.0", "450.51.06", False),  # R450 below the 11.x floor
        ("11.8", "11.0", "450.80.02", True),
        ("10.2", "10.1", "418.87.00", False),  # no minor-version compatibility before 11
        ("13.0", "12.8", "570.124.04", False),  # an older major never
        ("12.1", "12.1", None, True),
    ],
)
def test_driver_runs(runtime, driver_cuda, driver, runs):
    assert compat.driver_runs(runtime, driver_cuda, driver) is runs
