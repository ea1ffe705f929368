"""``--dataset file:PATH``: good files train; every kind of bad file is exit 2 before training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.workloads.cli_run import run_cli
from tests.workloads.train_cli import error_lines, invoke, run_json
from workloads.errors import DataError
from workloads.train.data import guess_task, load_dataset
from workloads.train.files import read_file


def blobs(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three well-separated classes in four features (labels 3, 5, 7: not 0..k-1 on purpose)."""
    rng = np.random.default_rng(seed)
    y = np.array([3, 5, 7])[np.arange(n) % 3]
    X = rng.normal(size=(n, 4)) + 4.0 * (y[:, None] == np.array([3, 5, 7, 5])[None, :])
    return X.astype(np.float32), y


def write_csv(path, header, rows):
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_csv_with_a_named_target_column_trains_and_reports(tmp_path):
    X, y = blobs()
    rows = [[*x[:2], label, *x[2:]] for x, label in zip(X.round(4), y, strict=True)]
    path = write_csv(tmp_path / "blobs.csv", ["a", "b", "kind", "c", "d"], rows)
    result, data = run_json(
        tmp_path, "--dataset", f"file:{path}", "--target", "kind", "--device", "cpu"
    )
    assert result.exit_code == 0, result.output
    ds = data["dataset"]
    assert ds["task"] == "classification" and ds["n_classes"] == 3
    assert ds["target"] == "kind" and ds["features"] == ["a", "b", "c", "d"]
    assert ds["class_values"] == [3.0, 5.0, 7.0]
    assert (ds["train_rows"], ds["test_rows"]) == (96, 24)
    skorch = data["records"][0]
    assert skorch["test_accuracy"] > ds["majority_share"]


def test_an_npz_regression_trains_and_beats_the_mean(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([2.0, -1.0, 0.5]) * 1000 + 5000 + rng.normal(size=200)  # a price-like scale
    np.savez(tmp_path / "houses.npz", X=X, y=y)
    result, data = run_json(
        tmp_path, "--dataset", f"file:{tmp_path / 'houses.npz'}", "--device", "cpu"
    )
    assert result.exit_code == 0, result.output
    rows = {r["model"]: r for r in data["records"]}
    assert data["dataset"]["task"] == "regression"
    assert rows["sk-linreg"]["r2"] > 0.99
    assert rows["skorch"]["r2"] > 0.5  # the MLP, 20 epochs, standardised target


def test_a_torch_save_file_trains_and_limit_caps_the_rows(tmp_path):
    X, y = blobs(200)
    path = tmp_path / "blobs.pt"
    torch.save({"X": torch.from_numpy(X), "y": torch.from_numpy(y)}, path)
    result, data = run_json(
        tmp_path, "--dataset", f"file:{path}", "--limit", "50", "--device", "cpu"
    )
    assert result.exit_code == 0, result.output
    assert data["dataset"]["reader"] == "workloads.train.files (pt)"
    assert (data["dataset"]["train_rows"], data["dataset"]["test_rows"]) == (50, 40)
    assert data["dataset"]["full_train_rows"] == 160


def test_whole_number_targets_are_classes_unless_told_otherwise(tmp_path):
    assert guess_task(np.array([0.0, 1.0, 1.0, 0.0])) == "classification"
    assert guess_task(np.array([0.5, 1.0, 2.0])) == "regression"
    assert guess_task(np.arange(100, dtype=float)) == "regression"  # too many to be classes
    path = write_csv(tmp_path / "t.csv", ["x", "y"], [[i, i % 3] for i in range(20)])
    assert load_dataset(f"file:{path}").task == "classification"
    assert load_dataset(f"file:{path}", task="regression").task == "regression"


# --- bad files ---------------------------------------------------------------------------------


def _csv(text):
    return lambda p: p.write_text(text, encoding="utf-8")


def _npz(**arrays):
    return lambda p: np.savez(p, **arrays)


def _pt(obj):
    return lambda p: torch.save(obj, p)


def _lying_npz(path, shape):
    """An .npz whose X header claims ``shape`` (float32) while holding a few bytes."""
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    y = io.BytesIO()
    np.save(y, GOOD_Y)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("X.npy", header.getvalue() + b"\0" * 64)
        archive.writestr("y.npy", y.getvalue())


GOOD_X = np.ones((10, 2), dtype=np.float32)
GOOD_Y = np.arange(10) % 2
BAD_FILES = [
    ("missing-column.csv", _csv("a,b,y\n1,2,0\n3,4,1\n"), ("--target", "label"),
     "no column 'label' (columns: 'a', 'b', 'y')"),
    ("ragged.csv", _csv("a,b,y\n1,2,0\n3,1\n5,6,1\n"), (), "line 3 has 2 fields, the header has 3"),
    ("nan.csv", _csv("a,b,y\n1,2,0\n3,nan,1\n"), (), "line 3, column 'b': 'nan' is not a finite"),
    ("inf.csv", _csv("a,b,y\n1,2,0\n3,4,-inf\n"), (), "column 'y': '-inf' is not a finite number"),
    ("text.csv", _csv("a,b,y\n1,2,0\n3,four,1\n"), (), "column 'b': 'four' is not a number"),
    ("blank-cell.csv", _csv("a,b,y\n1,,0\n"), (), "line 2, column 'b': empty value"),
    ("empty.csv", _csv(""), (), "the file is empty"),
    ("header-only.csv", _csv("a,b,y\n"), (), "has a header but no data rows"),
    ("mismatch.npz", _npz(X=GOOD_X, y=GOOD_Y[:9]), (), "X has 10 rows but y has 9"),
    ("nan.npz", _npz(X=np.where(np.eye(10, 2) > 0, np.nan, GOOD_X), y=GOOD_Y), (),
     "X has 2 NaN or infinite values (first in row 0)"),
    ("no-y.npz", _npz(X=GOOD_X, labels=GOOD_Y), (), "no array 'y' (arrays: X, labels)"),
    ("strings.npz", _npz(X=GOOD_X, y=np.array(["a"] * 10)), (), "y holds <U1 values, not numbers"),
    ("garbage.npz", lambda p: p.write_bytes(b"not a zip file at all"), (),
     "not a readable .npz archive"),
    ("mismatch.pt", _pt({"X": torch.ones(10, 2), "y": torch.zeros(8)}), (),
     "X has 10 rows but y has 8"),
    ("inf.pt", _pt({"X": torch.ones(10, 2), "y": torch.full((10,), float("inf"))}), (),
     "y has 10 NaN or infinite values"),
    ("list.pt", _pt([torch.ones(2), torch.ones(2)]), (), "holds a list, not a dict of X and y"),
    ("empty.pt", _pt({"X": torch.ones(0, 2), "y": torch.ones(0)}), (), "X has no rows"),
    ("data.xlsx", lambda p: p.write_bytes(b"PK"), (), "unknown file type '.xlsx'"),
    ("target-on-npz.npz", _npz(X=GOOD_X, y=GOOD_Y), ("--target", "y"),
     "--target names a CSV column"),
    ("tiny.csv", _csv("a,y\n1,0\n2,1\n"), (), "has 2 rows; needs at least 5"),
    ("latin1.csv", lambda p: p.write_bytes(b"a,b,y\n1,2,0\n\xe9,3,1\n"), (), "not UTF-8 text"),
    ("huge-field.csv", _csv("a,b,y\n" + "1" * 200_000 + ",2,0\n"), (),
     "not a readable CSV (field larger than field limit"),
    ("too-big.csv", _csv("a,b,y\n1e300,2,0\n"), (), "1e300' is too large for float32"),
    ("sparse.pt", _pt({"X": torch.ones(10, 2).to_sparse(), "y": torch.zeros(10)}), (),
     "X is a torch.sparse_coo tensor; save a dense one"),
    ("claims-300-gib.npz", lambda p: _lying_npz(p, (300 * 2**30 // 4,)), (),
     "array 'X' declares 300.0 GiB"),
    ("one-class.csv", _csv("a,y\n" + "".join(f"{i},4\n" for i in range(9))), (),
     "the target has a single class (4)"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "write", "extra", "message"), BAD_FILES, ids=[case[0] for case in BAD_FILES]
)
def test_a_bad_file_exits_2_naming_the_file_and_the_problem_before_training(
    tmp_path, name, write, extra, message
):
    path = tmp_path / name
    write(path)
    result = invoke("--dataset", f"file:{path}", *extra, "--device", "cpu")
    assert result.exit_code == 2, result.output
    errors = error_lines(result)
    assert len(errors) == 1, result.stderr
    assert str(path) in errors[0] and message in errors[0], errors[0]
    assert "validation" not in result.output and "warm-up" not in result.output


def test_a_missing_file_is_named():
    with pytest.raises(DataError, match=r"/nowhere/data\.csv: no such file"):
        read_file("/nowhere/data.csv")


def test_a_bad_file_in_a_fresh_interpreter_is_one_line_and_no_traceback(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,y\n1,2,0\n3,1\n", encoding="utf-8")
    proc = run_cli("train", "--dataset", f"file:{path}", "--device", "cpu", "--json", "-")
    assert proc.returncode == 2
    assert proc.stdout == ""  # no half-written JSON
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"Error: {path}: line 3 has 2 fields, the header has 3"


def test_an_error_quotes_a_short_excerpt_never_a_whole_secret(tmp_path):
    secret = "root:$6$c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0:19000:0:99999"
    path = tmp_path / "data.csv"
    path.write_text(f"{secret},y\n1,0\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        read_file(path, target="label")
    assert secret not in str(caught.value) and "root:$6$" in str(caught.value)


def test_bfloat16_and_float16_tensors_are_read_as_float32(tmp_path):
    path = tmp_path / "half.pt"
    torch.save({"X": torch.ones(10, 2, dtype=torch.bfloat16), "y": torch.zeros(10).half()}, path)
    X, y, _ = read_file(path)
    assert X.dtype == np.float32 and X.shape == (10, 2) and y.shape == (10,)
