"""Strings from outside (a GPU name, a facts file, an engine's message, a child's stderr) made
safe for where they go: a terminal, XML, a report that leaves the machine."""

from __future__ import annotations

import re

# C0 and C1 controls but newline and tab: an escape sequence could clear the screen or retitle
# the terminal; shown instead as a visible \xNN.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What XML 1.0 cannot carry at all, escaped or not.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# scheme://user:secret@host -> scheme://***@host (tokens in git remotes, DOCKER_HOST, proxies).
_HOME = re.compile(r"(?:/home/[^/\s:]+|/Users/[^/\s:]+|/root)(?=/|\b)")
_USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s@]+@")


def printable(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def xml_safe(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def redact_url(text: str) -> str:
    return _USERINFO.sub(r"\1***@", text)


def redact_home(text: str) -> str:
    """/home/alice/venv/lib -> ~/venv/lib: the folder names users, the rest still diagnoses."""
    return _HOME.sub("~", text)


def one_line(text: str, limit: int) -> str:
    """``text`` as one printable line of at most ``limit`` UTF-8 bytes (cut with "..."), for
    places that show one short line: a Slurm drain reason, a node condition's message."""
    line = " ".join(printable(text).split())
    if len(line.encode()) <= limit:
        return line
    return line.encode()[: max(limit - 3, 0)].decode(errors="ignore").rstrip() + "..."
