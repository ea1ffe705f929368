"""A user's own data file: CSV (a named target column), ``.npz`` (``X``, ``y``) or ``torch.save``.

Every check happens here, before anything trains, and every failure is one
:class:`~workloads.errors.DataError` naming the file and the problem: a missing column, ragged
rows, NaN or inf, non-numeric values, an empty file, X/y lengths that differ, an unknown extension.

The ``torch.save`` layout: a dict with two tensors, ``{"X": X, "y": y}``, ``X`` of shape
``(n, ...)`` (rows first; any further dimensions are flattened) and ``y`` of shape ``(n,)``. It is
read with ``weights_only=True``: a data file cannot run code.
"""

from __future__ import annotations

import csv
import math
import os
import zipfile
from pathlib import Path

import numpy as np

from workloads.errors import DataError

SUFFIXES = (".csv", ".npz", ".pt", ".pth")
FLOAT32_MAX = float(np.finfo(np.float32).max)


def read_file(path: str | Path, target: str | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(X, y, info)``: X as float32 ``(n, features)``, y as float64 ``(n,)``, both finite.

    ``target`` names the CSV's target column (default: the last column); other formats have
    their own names for X and y and refuse it.
    """
    path = check_path(path)
    suffix = path.suffix.lower()
    if target is not None and suffix != ".csv":
        raise DataError(f"{path}: --target names a CSV column; a {suffix} file holds X and y")
    if suffix == ".csv":
        X, y, info = _read_csv(path, target)
    elif suffix == ".npz":
        X, y, info = _read_npz(path)
    else:
        X, y, info = _read_torch(path)
    return X, y, {"format": suffix.lstrip("."), "path": str(path), **info}


def check_path(path: str | Path) -> Path:
    """The cheap checks, before anything heavy is imported: a known type, a file, not empty."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(
            f"{path}: unknown file type {suffix or '(no extension)'!r} (use {', '.join(SUFFIXES)})"
        )
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    return path


def _excerpt(text: str, limit: int = 20) -> str:
    """A short, printable piece of a cell or a column name: an error never echoes a whole file
    (a data path may be a link to a secret)."""
    text = "".join(c if c.isprintable() else "?" for c in text[: limit + 1])
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _read_csv(path: Path, target: str | None) -> tuple[np.ndarray, np.ndarray, dict]:
    try:
        return _parse_csv(path, target)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start} of a line)") from None
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV ({str(exc)[:80]})") from None


def _parse_csv(path: Path, target: str | None) -> tuple[np.ndarray, np.ndarray, dict]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None or not any(h.strip() for h in header):
            raise DataError(f"{path}: the file is empty (no header row)")
        header = [h.strip() for h in header]
        if len(header) < 2:
            raise DataError(f"{path}: needs a target column and at least one feature column")
        name = header[-1] if target is None else target
        if name not in header:
            shown = ", ".join(_excerpt(h) for h in header[:10])
            more = f", … {len(header) - 10} more" if len(header) > 10 else ""
            raise DataError(f"{path}: no column {_excerpt(name)} (columns: {shown}{more})")
        t = header.index(name)
        values: list[list[float]] = []
        for row in rows:
            line = rows.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank lines, including a trailing one
            if len(row) != len(header):
                raise DataError(
                    f"{path}: line {line} has {len(row)} fields, the header has {len(header)}"
                )
            parsed = []
            for column, cell in zip(header, row, strict=True):
                parsed.append(_number(path, line, column, cell))
            values.append(parsed)
    if not values:
        raise DataError(f"{path}: has a header but no data rows")
    table = np.asarray(values, dtype=np.float64)
    y = table[:, t]
    X = np.delete(table, t, axis=1).astype(np.float32)
    features = [h for i, h in enumerate(header) if i != t]
    return X, y, {"target": name, "features": features}


def _number(path: Path, line: int, column: str, cell: str) -> float:
    text = cell.strip()
    where = f"{path}: line {line}, column {_excerpt(column)}"
    if not text:
        raise DataError(f"{where}: empty value (missing data is not supported)")
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{where}: {_excerpt(cell)} is not a number") from None
    if not math.isfinite(value):
        raise DataError(
            f"{where}: {_excerpt(text)} is not a finite number (NaN and inf are refused)"
        )
    if abs(value) > FLOAT32_MAX:
        raise DataError(f"{where}: {_excerpt(text)} is too large for float32 (the nets' type)")
    return value


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != b"PK\x03\x04":  # np.load would try any other file as a pickle or a .npy
        raise DataError(
            f"{path}: not a readable .npz archive (np.savez writes a zip of arrays; "
            f"this file starts with {magic!r})"
        )
    _check_npz_sizes(path)
    try:
        # allow_pickle=False: an object array in a data file would be code, not data.
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            missing = [n for n in ("X", "y") if n not in names]
            if missing:
                raise DataError(
                    f"{path}: no array {missing[0]!r} (arrays: {', '.join(names) or 'none'}); "
                    "save with np.savez(path, X=X, y=y)"
                )
            X, y = archive["X"], archive["y"]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz archive ({exc})") from None
    except ValueError as exc:  # object arrays refused by allow_pickle=False
        raise DataError(f"{path}: {exc}".rstrip(".") + " (object arrays are refused)") from None
    return (*_check_arrays(path, X, y), {})


def _check_npz_sizes(path: Path) -> None:
    """Refuse, before allocating, an array whose header declares more than its member holds or
    more than this machine's memory: np.load trusts the header."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    read_header = _NPY_HEADERS.get(version)
                    if read_header is None:
                        raise DataError(f"{path}: {info.filename}: .npy format {version} unknown")
                    shape, _, dtype = read_header(member)
                declared = math.prod(shape) * dtype.itemsize
                if declared > info.file_size or declared > _memory_bytes() // 2:
                    raise DataError(
                        f"{path}: array {info.filename[:-4]!r} declares {declared / 2**30:.1f} GiB "
                        f"(shape {shape}), more than the file holds or this machine's memory"
                    )
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npz archive ({str(exc)[:80]})") from None


_NPY_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 8 * 2**30


def _read_torch(path: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    import pickle

    import torch

    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: not a readable torch.save file ({first})") from None
    layout = "save it with torch.save({'X': X, 'y': y}, path)"
    if not isinstance(data, dict):
        raise DataError(f"{path}: holds a {type(data).__name__}, not a dict of X and y; {layout}")
    missing = [n for n in ("X", "y") if n not in data]
    if missing:
        keys = ", ".join(map(str, data)) or "none"
        raise DataError(f"{path}: no entry {missing[0]!r} (keys: {keys}); {layout}")
    arrays = []
    for name in ("X", "y"):
        value = data[name]
        if not isinstance(value, torch.Tensor):
            raise DataError(f"{path}: {name} is a {type(value).__name__}, not a tensor; {layout}")
        if value.layout != torch.strided:
            raise DataError(f"{path}: {name} is a {value.layout} tensor; save a dense one")
        if value.is_complex():
            raise DataError(f"{path}: {name} holds {value.dtype} values, not real numbers")
        if value.is_floating_point() and value.dtype not in (torch.float32, torch.float64):
            value = value.float()  # bfloat16 / float16 have no numpy type
        arrays.append(value.detach().cpu().numpy())
    return (*_check_arrays(path, *arrays), {})


def _check_arrays(path: Path, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    for name, a in (("X", X), ("y", y)):
        if a.dtype.kind not in "biuf":
            raise DataError(f"{path}: {name} holds {a.dtype} values, not numbers")
        if a.ndim == 0:
            raise DataError(f"{path}: {name} is a single number, not one value per row")
    if len(X) == 0:
        raise DataError(f"{path}: X has no rows")
    if y.ndim > 1 and not (y.ndim == 2 and y.shape[1] == 1):
        raise DataError(f"{path}: y has shape {y.shape}; give one target per row, shape (n,)")
    y = y.reshape(len(y))
    if len(X) != len(y):
        raise DataError(f"{path}: X has {len(X)} rows but y has {len(y)}")
    X = X.reshape(len(X), -1) if X.ndim != 2 else X
    if X.shape[1] == 0:
        raise DataError(f"{path}: X has no feature columns")
    for name, a in (("X", X), ("y", y)):
        bad = ~np.isfinite(a.astype(np.float64, copy=False))
        if bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise DataError(
                f"{path}: {name} has {int(bad.sum())} NaN or infinite values (first in row {row})"
            )
    return X.astype(np.float32), y.astype(np.float64)
