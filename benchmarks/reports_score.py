"""How many real users' reports (tests/data/reports) envcheck diagnoses right.

    python benchmarks/reports_score.py [-v]

Prints one line per case that is wrong on any measure (every case with -v), then
`reports: N/M diagnosed right (verdict a/M, cause b/M, remedy c/R)`: right on all three measures,
and each measure (remedy over the R cases whose thread names a fix).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from envcheck.report import InputError
from tests.reports import cases, score


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    all_cases = cases()
    verdicts = causes = remedies = with_remedy = right = 0
    for case in all_cases:
        try:
            result = score(case)
        except InputError as exc:
            print(f"✗✗✗ {case.name}: {exc}")
            continue
        verdicts += result.verdict
        causes += result.cause
        if result.remedy is not None:
            with_remedy += 1
            remedies += result.remedy
        ok = result.verdict and result.cause and result.remedy is not False
        right += ok
        if verbose or not ok:
            failing = [c.id for c in result.report.checks if c.status == "fail"]
            marks = "".join(
                "✓" if m else "✗"
                for m in (result.verdict, result.cause, result.remedy is not False)
            )
            want = "ready" if case.ready else f"not ready: {case.check} ({case.remedy})"
            print(f"{marks} {case.name}: want {want}; got failing {failing or 'none'}")
    n = len(all_cases)
    print(
        f"reports: {right}/{n} diagnosed right (verdict {verdicts}/{n}, cause {causes}/{n}, "
        f"remedy {remedies}/{with_remedy})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
