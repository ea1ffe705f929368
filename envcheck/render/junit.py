"""JUnit XML: one testcase per check, for CI systems that show test reports."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from envcheck.checks import FAIL, SKIP, WARN
from envcheck.report import Report
from envcheck.text import xml_safe


def render(report: Report) -> str:
    suite = ET.Element(
        "testsuite",
        name="envcheck",
        tests=str(len(report.checks)),
        failures=str(sum(_is_failure(report, c.status) for c in report.checks)),
        skipped=str(sum(c.status == SKIP for c in report.checks)),
    )
    for result in report.checks:
        case = ET.SubElement(suite, "testcase", classname="envcheck", name=result.id)
        summary = xml_safe(result.summary)
        remedy = ""
        if result.remedy:
            lines = [result.remedy.text, *(f"$ {c}" for c in result.remedy.commands)]
            remedy = xml_safe("\n".join(lines))
        if _is_failure(report, result.status):
            ET.SubElement(case, "failure", message=summary).text = remedy
        elif result.status == SKIP:
            ET.SubElement(case, "skipped", message=summary)
        else:
            out = f"{result.status}: {summary}" + (f"\n{remedy}" if remedy else "")
            ET.SubElement(case, "system-out").text = out
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )


def _is_failure(report: Report, status: str) -> bool:
    return status == FAIL or (status == WARN and report.verdict.strict)
