"""docker/images.toml against envcheck's compatibility data, and the image entry point's parts."""

from __future__ import annotations

import pytest

from envcheck import compat
from envcheck.expect import parse
from envcheck.images import entrypoint, expectfile, pins

if __import__("sys").version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PINS, DEFAULTS = pins.load()


@pytest.mark.parametrize("pin", PINS, ids=[p.name for p in PINS])
def test_each_pin_takes_its_build_from_compat(pin):
    build = compat.build_named(pin.torch, pin.build)
    assert (pin.cuda, pin.cudnn, pin.arch_list) == (build.cuda, build.cudnn, build.arch_list)
    assert pin.index_url == build.index_url
    major = int(pin.cuda.split(".")[0])
    assert pin.min_driver == compat.min_driver_for_major(major)
    # The wheel's floor: any driver of its CUDA major (minor-version compatibility).
    assert pin.nvidia_require_cuda == f"cuda>={major}.0"
    # The images run the seed's data sets: torchvision built for exactly their torch.
    assert pin.torchvision == compat.torchvision_for(pin.torch) is not None


def test_torchvision_pairs_name_one_torch_release_each_with_a_source():
    pairs = compat._data()["torchvision"]
    assert len({p["torch"] for p in pairs}) == len(pairs)
    for p in pairs:
        torch_minor = compat.version_tuple(p["torch"])[1]
        # torchvision 0.N is built for torch 2.(N-15) since torch 2.0 / torchvision 0.15.
        assert compat.version_tuple(p["torchvision"])[:2] == (0, torch_minor + 15), p
        assert p["source"]


def test_another_torch_changes_everything_that_follows_from_it():
    pin = pins.with_torch(pins.find("cu130-runtime"), "2.13.0+cpu")
    assert (pin.torch, pin.build, pin.tag) == ("2.13.0", "cpu", "gpu-envkit:2.13.0-cpu-runtime")
    assert (pin.cuda, pin.cudnn, pin.arch_list, pin.min_driver) == (None, None, (), None)
    assert pin.nvidia_require_cuda is None and pin.index_url == pins.CPU_INDEX
    assert pin.torchvision == "0.28.0" and "2.13.0+cpu" in pin.name
    cu126 = pins.with_torch(pins.find("cu130-devel"), "2.14.1+cu126", tag="mine:1")
    assert (cu126.cuda, cu126.tag, cu126.target) == ("12.6", "mine:1", "devel")
    assert cu126.nvidia_require_cuda == "cuda>=12.0"


@pytest.mark.parametrize(
    ("spec", "words"),
    [("2.14.1", r"expected VERSION\+BUILD"), ("2.14.1+cu999", "no official torch 2.14.1 cu999")],
)
def test_a_torch_override_compat_does_not_know_is_refused(spec, words):
    with pytest.raises(pins.PinsError, match=words):
        pins.with_torch(pins.find("cu130-runtime"), spec)


def test_a_pins_file_that_copies_compat_knowledge_is_refused(tmp_path):
    text = (pins.PINS.read_text()).replace(
        'build = "cu130"\n', 'build = "cu130"\ncudnn = "9.1.0"\n', 1
    )
    path = tmp_path / "images.toml"
    path.write_text(text)
    with pytest.raises(pins.PinsError, match="'cudnn', which comes from"):
        pins.load(path)


def test_a_build_compat_does_not_know_is_refused(tmp_path):
    path = tmp_path / "images.toml"
    path.write_text(pins.PINS.read_text().replace('build = "cu130"', 'build = "cu999"', 1))
    with pytest.raises(pins.PinsError, match=r"no official torch 2\.14\.1 cu999 build"):
        pins.load(path)


@pytest.mark.parametrize("pin", PINS, ids=[p.name for p in PINS])
def test_each_pin_has_a_source_and_a_matching_cuda_base(pin):
    assert pin.source.strip()
    flavour = {"runtime": "-base-", "devel": "-devel-"}[pin.target]
    assert pin.base.startswith(f"nvidia/cuda:{pin.cuda}.") and flavour in pin.base
    assert "@sha256:" not in pin.base  # no digest was ever seen here: none is written


def test_both_lines_ship_as_runtime_and_devel_and_cover_the_issue_range():
    lines = {(p.build, p.target) for p in PINS}
    assert lines >= {(b, t) for b in ("cu126", "cu130") for t in pins.TARGETS}
    newest = max((p.torch for p in PINS), key=compat.version_tuple)
    assert newest == max((b.torch for b in compat.builds()), key=compat.version_tuple)
    by_build = {p.build: p for p in PINS}
    assert by_build["cu126"].arch_list[0] == "sm_50"  # Maxwell
    assert by_build["cu130"].arch_list[-1] == "sm_120"  # Blackwell
    assert set(DEFAULTS) <= {p.name for p in PINS}


def test_unknown_image_names_the_known_ones():
    with pytest.raises(pins.PinsError, match="cu130-runtime"):
        pins.find("cu999-runtime")


def test_expect_file_holds_the_pins_as_expectations():
    pin = pins.find("cu130-devel")
    text = expectfile.render(pin.torch, pin.cuda, pin.cudnn, " ".join(pin.arch_list), True)
    expect = parse(tomllib.loads(text), "expect.toml")
    assert expect.torch == "2.14.1" and expect.cuda == "13.0" and expect.cudnn_min == "9.24"
    assert expect.arch == pin.arch_list and expect.require_nvcc is True


def test_a_cpu_test_image_expects_only_its_torch():
    expect = parse(tomllib.loads(expectfile.render("2.13.0")), "expect.toml")
    assert expect.torch == "2.13.0"
    assert (expect.cuda, expect.cudnn_min, expect.arch, expect.require_nvcc) == (None,) * 4


@pytest.mark.parametrize(
    ("argv", "tail"),
    [
        ([], ["check", "--json", "--expect", entrypoint.EXPECT, "--with-workloads"]),
        (["check", "--strict"], ["check", "--json", "--expect", entrypoint.EXPECT, "--strict"]),
        (["digits", "--scales", "1"], ["workloads", "digits", "--json", "-", "--scales", "1"]),
        (["--no-smoke"], ["--expect", entrypoint.EXPECT, "--with-workloads", "--no-smoke"]),
    ],
)
def test_entrypoint_parts(argv, tail):
    cmd = entrypoint.command(argv)
    assert cmd[-len(tail) :] == tail


def test_entrypoint_unknown_part_is_exit_2(capsys):
    assert entrypoint.main(["bench"]) == 2
    assert "unknown part 'bench'" in capsys.readouterr().err
