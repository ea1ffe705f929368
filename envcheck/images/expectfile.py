"""Write an image's own pins as envcheck expectations (run once, at image build time).

``python -m envcheck.images.expectfile --torch 2.14.1 --cuda 13.0 --cudnn 9.24.0.43
--arch "sm_75 sm_80" [--require-nvcc] > /etc/gpu-envkit/expect.toml``: the entrypoint then
checks with it, so a running container proves it is what its labels say. An empty value (a
CPU-only test image has no CUDA) sets no expectation.
"""

from __future__ import annotations

import argparse
import json
import sys


def render(
    torch: str, cuda: str = "", cudnn: str = "", arch: str = "", require_nvcc: bool = False
) -> str:
    lines = [f"torch = {json.dumps(torch)}"]
    if cuda:
        lines.append(f"cuda = {json.dumps(cuda)}")
    if cudnn:
        # The wheel pins the cuDNN package exactly; major.minor is what torch reports back.
        lines.append(f"cudnn_min = {json.dumps('.'.join(cudnn.split('.')[:2]))}")
    archs = arch.replace(",", " ").split()
    if archs:
        lines.append(f"arch = {json.dumps(archs)}")
    if require_nvcc:
        lines.append("require_nvcc = true")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m envcheck.images.expectfile")
    parser.add_argument("--torch", required=True)
    parser.add_argument("--cuda", default="")
    parser.add_argument("--cudnn", default="")
    parser.add_argument("--arch", default="", help="space- or comma-separated, e.g. 'sm_80 sm_90'")
    parser.add_argument("--require-nvcc", action="store_true")
    args = parser.parse_args(argv)
    sys.stdout.write(render(args.torch, args.cuda, args.cudnn, args.arch, args.require_nvcc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
