"""Expectations files: what is accepted, and every way a value is refused (exit 2 in the CLI)."""

from __future__ import annotations

import pytest

from envcheck.expect import Expectations, ExpectError, load, parse, to_json


def test_every_key_parses_to_its_type():
    expect = parse(
        {
            "gpu_count": 8,
            "gpu_name": "H100",
            "min_driver": "580.65.06",
            "torch": "2.14.1+cu130",
            "cuda": "13.0",
            "cudnn_min": "9.10",
            "require_nvcc": True,
            "arch": ["sm_90", "compute_120", "sm_100a", "sm_100f"],
        },
        "e.toml",
    )
    assert expect.gpu_count == 8 and expect.arch == ("sm_90", "compute_120", "sm_100a", "sm_100f")
    assert to_json(expect)["arch"] == ["sm_90", "compute_120", "sm_100a", "sm_100f"]
    assert to_json(Expectations()) == {}


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"flavour": 1}, "unknown key 'flavour'"),
        ({"gpu_count": "8"}, "'gpu_count' must be an integer, got '8'"),
        ({"gpu_count": True}, "'gpu_count' must be an integer"),
        ({"gpu_count": -1}, "'gpu_count' must be 0..4096, got -1"),
        ({"gpu_count": 4097}, "'gpu_count' must be 0..4096"),
        ({"require_nvcc": "yes"}, "'require_nvcc' must be true or false"),
        ({"arch": "sm_90"}, "'arch' must be a list of strings"),
        ({"arch": ["sm_90", 90]}, "'arch' must be a list of strings"),
        ({"arch": ["sm90"]}, "'arch' must be architectures like"),
        ({"min_driver": "R580"}, "'min_driver' must be a driver version"),
        ({"min_driver": "580.65.06.1.2"}, "'min_driver' must be a driver version"),
        ({"cudnn_min": "v9.10"}, "'cudnn_min' must be a cuDNN version"),
        ({"cuda": "13.0.1.2"}, "'cuda' must be a CUDA version"),
        ({"torch": "2.14.1+"}, "'torch' must be a torch version"),
        ({"gpu_name": ""}, "'gpu_name' must be a GPU name"),
        ({"gpu_name": "x" * 101}, "'gpu_name' must be a GPU name"),
        ({"x" * 500: 1}, "..."),
    ],
)
def test_bad_values_are_refused_naming_the_key(data, words):
    with pytest.raises(ExpectError, match=r"^e\.toml: ") as caught:
        parse(data, "e.toml")
    assert words in str(caught.value)
    assert len(str(caught.value)) < 300  # a short line, whatever the value


@pytest.mark.parametrize("count", [0, 4096])
def test_gpu_count_bounds_are_inclusive(count):
    assert parse({"gpu_count": count}, "e.toml").gpu_count == count


def test_load_reads_toml_and_refuses_the_unreadable(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('cuda = "13.0"\n')
    assert load(good).cuda == "13.0"
    with pytest.raises(ExpectError, match="cannot read"):
        load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'cuda = "\xff"\n')
    with pytest.raises(ExpectError, match="not UTF-8"):
        load(bad)
    big = tmp_path / "big.toml"
    big.write_text("# " + "x" * (1024 * 1024) + "\n")
    with pytest.raises(ExpectError, match="larger than 1024 KiB"):
        load(big)
    broken = tmp_path / "broken.toml"
    broken.write_text("cuda = [\n")
    with pytest.raises(ExpectError, match="not valid TOML"):
        load(broken)


def test_a_failed_expectation_names_who_stated_it(tmp_path, monkeypatch, h200_facts):
    from envcheck import expect
    from envcheck.checks import run_checks

    def remedy_of(path):
        path.write_text('torch = "2.13"\n')
        (result,) = [r for r in run_checks(h200_facts, expect.load(path)) if r.id == "expect.torch"]
        assert result.status == "fail"
        return result.remedy.text

    own = tmp_path / "expect.toml"
    assert f"does not match the expectations file {own}" in remedy_of(own)
    monkeypatch.setattr(expect, "IMAGE_PINS", str(own))  # as inside an image
    assert "does not match this image's pins" in remedy_of(own)
    assert "onboarding" not in remedy_of(own)
    assert "origin" not in to_json(expect.load(own))  # who said it is no expectation
