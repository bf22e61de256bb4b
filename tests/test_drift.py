"""housing drift: PSI against a hand-derived value, KS against scipy's ks_2samp, and the
command on the built split's test rows, as they are and with MedInc drifted."""
import json
import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from housing import drift, store
from housing.config import FEATURES


def test_psi_is_the_hand_derived_value():
    # 28 % of the rows in the first bin and 8 % in each other: by hand,
    # 0.18 ln 2.8 + 9 (0.02 ln 1.25) = 0.1853318... + 0.0401655... = 0.2254973...
    counts = [[28] + [8] * 9, [10] * 10]
    assert drift.psi(counts)[0] == pytest.approx(0.2254973, abs=1e-7)
    assert drift.psi(counts)[0] == pytest.approx(
        0.18 * math.log(2.8) + 9 * 0.02 * math.log(1.25), rel=1e-14)
    assert drift.psi(counts)[1] == 0.0


def test_an_empty_bin_counts_as_the_floor():
    # one bin empty, its tenth spread over the other nine: (1e-4 - 0.1) ln(1e-3) + 9 (1/90) ln(10/9)
    counts = [[0] + [1] * 9]
    share = 1 / 9
    expected = (1e-4 - 0.1) * math.log(1e-3) + 9 * (share - 0.1) * math.log(share / 0.1)
    assert drift.psi(counts)[0] == pytest.approx(expected, rel=1e-14)


samples = st.lists(st.integers(-20, 20).map(lambda k: k / 4), min_size=1, max_size=60)


@given(samples, samples)
@settings(max_examples=300, deadline=None)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy's p-value of tiny samples
def test_ks_is_scipys_with_ties(a, b):
    assert drift.ks_statistic(np.array(a), np.array(b)) == pytest.approx(
        stats.ks_2samp(a, b, method="asymp").statistic, abs=1e-15)


def write_csv(path, X):
    lines = [",".join(FEATURES)] + [",".join(map(repr, row)) for row in X.tolist()]
    path.write_text("\n".join(lines) + "\n")
    return path


def run(built, capsys, rows, *extra):
    rc = drift.main(["--model", str(built["quantized"]), "--data", str(built["split"]),
                     "--input", str(rows), *extra])
    out, err = capsys.readouterr()
    return rc, out, err


def test_the_test_split_has_not_drifted(built, capsys, tmp_path):
    split = store.load_split(built["split"]).arrays
    rows = write_csv(tmp_path / "test.csv", split["X_test"])
    rc, out, err = run(built, capsys, rows, "--json", str(tmp_path / "d.json"))
    assert (rc, err) == (0, "")
    report = json.loads((tmp_path / "d.json").read_text())
    assert report["rows"] == len(split["X_test"]) and report["drifted"] == []
    for j, name in enumerate(FEATURES):
        figures = report["features"][name]
        assert figures["psi"] < 0.1
        assert figures["ks"] == pytest.approx(
            stats.ks_2samp(split["X_train"][:, j], split["X_test"][:, j]).statistic, abs=1e-15)
    assert out.splitlines()[-1] == (f"drift: {len(split['X_test']):,} rows against the "
                                    f"training split's {len(split['X_train']):,}: no "
                                    f"feature's PSI is above 0.2")


def medinc_drifted(built):
    """The built split's arrays, and its test rows with MedInc half as large again."""
    split = store.load_split(built["split"]).arrays
    X = split["X_test"].copy()
    X[:, 0] *= 1.5
    return split, X


def test_medinc_half_as_large_again_has_drifted(built, capsys, tmp_path):
    split, X = medinc_drifted(built)
    rc, out, err = run(built, capsys, write_csv(tmp_path / "drifted.csv", X), "--json",
                       str(tmp_path / "d.json"))
    report = json.loads((tmp_path / "d.json").read_text())
    medinc = report["features"]["MedInc"]
    assert rc == 1 and report["drifted"] == ["MedInc"]
    # the shift of its mean in training standard deviations, by Python's statistics
    train = split["X_train"][:, 0]
    assert medinc["mean_shift_sd"] == pytest.approx(
        (statistics.fmean(X[:, 0]) - statistics.fmean(train)) / statistics.pstdev(train),
        rel=1e-9)
    assert medinc["outside_share"] == pytest.approx(
        np.mean((X[:, 0] > train.max()) | (X[:, 0] < train.min())), abs=0)
    row = out.splitlines()[1].split()
    assert row[:3] == ["MedInc", f"{medinc['psi']:.4f}", f"{medinc['ks']:.4f}"]
    assert out.splitlines()[-1] == (f"drift: {len(X):,} rows against the training split's "
                                    f"{len(train):,}: MedInc's PSI {medinc['psi']:.4f} is "
                                    f"above 0.2")


def test_the_threshold_is_an_option(built, capsys, tmp_path):
    _, X = medinc_drifted(built)
    rows = write_csv(tmp_path / "drifted.csv", X)
    rc, _, _ = run(built, capsys, rows, "--psi", "100")
    assert rc == 0


def test_a_bad_row_stops_it_unless_skipped(built, capsys, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text(",".join(FEATURES) + "\n" + ",".join(["1"] * 8) + "\n"
                    + ",".join(["x"] + ["1"] * 7) + "\n" + ",".join(["2"] * 8) + "\n")
    rc, out, err = run(built, capsys, rows)
    assert (rc, out) == (2, "")
    assert err == (f"housing drift: error: {rows}, line 3, column 'MedInc': expected a number, "
                   f"got 'x'\n")
    rc, out, err = run(built, capsys, rows, "--skip-invalid")
    assert rc in (0, 1) and "drift: 2 rows against" in out
    assert err.splitlines() == [f"housing drift: skipped {rows}, line 3, column 'MedInc': "
                                f"expected a number, got 'x'",
                                "housing drift: 1 row skipped"]


def test_rows_of_nothing_are_refused(built, capsys, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text(",".join(FEATURES) + "\n")
    rc, out, err = run(built, capsys, rows)
    assert (rc, out, err) == (2, "", f"housing drift: error: {rows}: a header but no rows; "
                                     f"expected at least one row of numbers\n")
    rows.write_text(",".join(FEATURES) + "\n" + ",".join(["x"] * 8) + "\n")
    rc, out, err = run(built, capsys, rows, "--skip-invalid")
    assert (rc, out) == (2, "")
    assert err.splitlines()[-1] == (f"housing drift: error: {rows}: no rows; expected rows "
                                    f"of the features to compare")


def test_a_model_of_another_split_is_refused(built, capsys, tmp_path):
    from helpers import synthetic, write_split
    X, y = synthetic(seed=1)
    other = write_split(tmp_path / "other.npz", X, y)
    rc = drift.main(["--model", str(built["quantized"]), "--data", str(other),
                     "--input", str(tmp_path / "none.csv")])
    _, err = capsys.readouterr()
    assert rc == 2 and err.startswith(f"housing drift: error: {built['quantized']} was "
                                      f"trained on another split than {other} (data_sha256: ")
