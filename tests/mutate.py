"""Mutation testing of the rules: change the code one small step at a time and count how many
changes the fast tests catch (``make mutate``).

A mutant flips a comparison (< to >=, == to !=, in to not in), swaps `and`/`or`, drops a `not`,
negates an `if`, moves an integer by one, or turns one verdict into another (a status constant,
or `failed` into `warned`, ...). Each mutant is written into a private copy of the package and the
fast tests run against it in a child process, one thread each; a mutant is killed when they fail
(or hang past the timeout). Mutants listed in tests/mutation_equivalents.toml change nothing a
user can observe; they are reported apart and left out of the score.

    python tests/mutate.py [--jobs 2] [--timeout 120] [--only PATH ...] [--survivors FILE]
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
TARGETS = (
    "envcheck/checks/*.py",
    "envcheck/compat.py",
    "envcheck/expect.py",
    "envcheck/derive.py",
    "envcheck/paste/*.py",
)
TESTS = (
    "tests/test_rules.py",
    "tests/test_compat.py",
    "tests/test_paste.py",
    "tests/test_reports.py",
    "tests/test_expect.py",
    "tests/test_golden.py",
)
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.toml"

_COMPARE_SWAP = {
    ast.Lt: ast.GtE,
    ast.GtE: ast.Lt,
    ast.LtE: ast.Gt,
    ast.Gt: ast.LtE,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_STATUS_SWAP = {"PASS": "FAIL", "FAIL": "WARN", "WARN": "PASS", "SKIP": "PASS"}
_VERDICT_SWAP = {"passed": "failed", "failed": "warned", "warned": "passed", "skipped": "passed"}


@dataclass(frozen=True)
class Mutant:
    path: str  # relative to ROOT
    index: int  # the n-th mutation point of the file
    line: int
    what: str

    @property
    def key(self) -> str:
        return f"{self.path}:{self.line}:{self.what}"


class _Mutator(ast.NodeTransformer):
    """Visits mutation points in a fixed order; applies the one numbered ``target`` (or, with
    ``target`` None, only lists them)."""

    def __init__(self, target: int | None = None) -> None:
        self.target = target
        self.points: list[tuple[int, str]] = []

    def _point(self, node: ast.AST, what: str) -> bool:
        self.points.append((getattr(node, "lineno", 0), what))
        return len(self.points) - 1 == self.target

    def visit_Expr(self, node: ast.Expr) -> ast.AST:  # docstrings and bare calls: leave alone
        if isinstance(node.value, ast.Constant):
            return node
        return self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        for i, op in enumerate(node.ops):
            swap = _COMPARE_SWAP.get(type(op))
            if swap and self._point(node, f"{type(op).__name__} -> {swap.__name__}"):
                node.ops[i] = swap()
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        other = ast.Or if isinstance(node.op, ast.And) else ast.And
        if self._point(node, f"{type(node.op).__name__} -> {other.__name__}"):
            node.op = other()
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and self._point(node, "drop not"):
            return node.operand
        return node

    def visit_If(self, node: ast.If) -> ast.AST:
        self.generic_visit(node)
        if self._point(node, "negate if"):
            node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        number = isinstance(value, int) and not isinstance(value, bool)
        if number and self._point(node, f"{value} -> {value + 1}"):
            return ast.copy_location(ast.Constant(value + 1), node)
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        swap = _STATUS_SWAP.get(node.id)
        if swap and isinstance(node.ctx, ast.Load) and self._point(node, f"{node.id} -> {swap}"):
            return ast.copy_location(ast.Name(swap, ast.Load()), node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        name = node.func.id if isinstance(node.func, ast.Name) else None
        swap = _VERDICT_SWAP.get(name or "")
        if swap and self._point(node, f"{name}() -> {swap}()"):
            node.func = ast.Name(swap, ast.Load())
            if swap in ("failed", "warned") and len(node.args) == 1:
                node.args.append(ast.Constant("mutant remedy"))
        return node


def mutants(path: Path) -> list[Mutant]:
    lister = _Mutator()
    lister.visit(ast.parse(path.read_text()))
    rel = str(path.relative_to(ROOT))
    return [Mutant(rel, i, line, what) for i, (line, what) in enumerate(lister.points)]


def mutated_source(path: Path, index: int) -> str:
    tree = _Mutator(index).visit(ast.parse(path.read_text()))
    return ast.unparse(ast.fix_missing_locations(tree))


def _copy(workdir: Path) -> None:
    for name in ("envcheck", "tests"):
        shutil.copytree(ROOT / name, workdir / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, workdir / name)


def _run_tests(workdir: Path, timeout: float) -> bool:
    """True when the tests pass (the mutant survived)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(workdir),
        "PYTHONDONTWRITEBYTECODE": "1",
        **{v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
    }
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *TESTS]
    try:
        proc = subprocess.run(
            cmd, cwd=workdir, env=env, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return False  # a hang is caught by the suite's own bound
    return proc.returncode == 0


def _equivalents() -> dict[str, str]:
    if not EQUIVALENTS.is_file():
        return {}
    data = tomllib.loads(EQUIVALENTS.read_text())
    return {f"{e['file']}:{e['line']}:{e['mutation']}": e["why"] for e in data.get("mutant", [])}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python tests/mutate.py")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per mutant")
    parser.add_argument("--only", nargs="*", help="files to mutate (default: all targets)")
    parser.add_argument("--survivors", type=Path, help="also write the survivors to FILE")
    args = parser.parse_args(argv)
    # Stopped with SIGTERM, exit through SystemExit so the private copies are removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    files = (
        [ROOT / p for p in args.only]
        if args.only
        else sorted(
            {p for pattern in TARGETS for p in ROOT.glob(pattern) if p.name != "__init__.py"}
            | {ROOT / "envcheck/checks/__init__.py"}
        )
    )
    equivalent = _equivalents()
    todo = [m for f in files for m in mutants(f)]
    print(f"{len(todo)} mutants in {len(files)} files, {args.jobs} job(s)", flush=True)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="envkit-mutate-") as tmp:
        workdirs = [Path(tmp) / f"w{i}" for i in range(args.jobs)]
        for workdir in workdirs:
            _copy(workdir)
        # Unmutated, the tests must pass in the copy: else every mutant would count as killed.
        if not _run_tests(workdirs[0], args.timeout):
            print("the tests fail on the unmutated copy: fix them first", file=sys.stderr)
            return 2
        free = list(workdirs)

        def judge(mutant: Mutant) -> tuple[Mutant, bool]:
            workdir = free.pop()
            target = workdir / mutant.path
            original = target.read_text()
            try:
                target.write_text(mutated_source(ROOT / mutant.path, mutant.index))
                survived = _run_tests(workdir, args.timeout)
            finally:
                target.write_text(original)
                free.append(workdir)
            return mutant, survived

        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(judge, todo))
    by_file: dict[str, list[int]] = {}
    survivors = []
    for mutant, survived in results:
        if mutant.key in equivalent:
            continue
        counts = by_file.setdefault(mutant.path, [0, 0])
        counts[1] += 1
        counts[0] += not survived
        if survived:
            survivors.append(mutant)
    for path, (killed, total) in sorted(by_file.items()):
        print(f"{path:40} {killed:4}/{total:<4} killed  {100 * killed / max(total, 1):5.1f} %")
    killed = sum(k for k, _ in by_file.values())
    total = sum(t for _, t in by_file.values())
    print(
        f"mutation score: {killed}/{total} = {100 * killed / max(total, 1):.1f} % killed "
        f"({len(equivalent)} accepted equivalents left out; {time.monotonic() - start:.0f} s)"
    )
    lines = [f"{m.path}:{m.line}: {m.what}" for m in survivors]
    if args.survivors:
        args.survivors.write_text("\n".join(lines) + "\n")
    else:
        print("\n".join(f"survived {line}" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
