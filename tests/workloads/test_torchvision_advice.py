"""Without a torchvision that imports, the image sets name the release that pairs with torch."""

from __future__ import annotations

import pytest

from workloads.train.data import torchvision_advice


@pytest.mark.parametrize(
    ("torch", "words"),
    [
        ("2.13.0+cpu", "'torchvision==0.28.*' --index-url https://download.pytorch.org/whl/cpu"),
        ("2.14.1", "torchvision 0.29: pip install 'torch==2.14.1' 'torchvision==0.29.*'"),
        (
            "1.12.1+cu113",
            "'torchvision==0.13.*' --index-url https://download.pytorch.org/whl/cu113",
        ),
        ("weird", "the torchvision release built for torch weird"),
    ],
)
def test_the_pairing_torchvision_and_its_index(torch, words):
    assert words in torchvision_advice(torch)
