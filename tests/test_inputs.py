"""What predict does with rows from any reader: ids, skipped rows, the training range, output."""
import json
import math

import numpy as np
import pytest

from housing import predict as p
from housing import integer, store
from housing.readers.chunk import Chunk
from housing.config import FEATURES
from housing.data import training_ranges
from housing.model import Ranges

from helpers import ROWS, TRUTH, formula, pandas_csv, run_predict, values


RECORDS = [dict(zip(FEATURES, row)) for row in ROWS.tolist()]


def bad_third_row():
    text = pandas_csv().decode().splitlines()
    text[3] = text[3].replace("4.29", "n/a")
    return ("\n".join(text) + "\n").encode()


def rows_text(X):
    return (",".join(FEATURES) + "\n" + "\n".join(",".join(map(repr, r)) for r in X.tolist())
            + "\n").encode()


COLUMNS = list(FEATURES) + ["MedHouseVal"]


def test_id_copies_a_column_before_each_prediction(capsys, monkeypatch, built):
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], pandas_csv(), "--id", "MedHouseVal")
    lines = out.splitlines()
    assert rc == 0 and lines[0] == "MedHouseVal,MedHouseVal"
    assert [line.split(",")[0] for line in lines[1:]] == [str(t) for t in TRUTH]
    np.testing.assert_allclose([float(line.split(",")[1]) for line in lines[1:]],
                               formula(built["float"]), rtol=1e-12)
    assert err == ("housing predict: ignoring columns that are not features: the unnamed "
                   "first column (pandas' index)\n")


def test_id_and_json_lines_output_from_json(capsys, monkeypatch, built):
    doc = [dict(r, key=f"house {i}") for i, r in enumerate(RECORDS)]
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], json.dumps(doc).encode(),
                       "--id", "key", "--output", "jsonl")
    answers = [json.loads(line) for line in out.splitlines()]
    assert rc == 0 and err == "" and [a["key"] for a in answers] == ["house 0", "house 1", "house 2"]
    np.testing.assert_allclose([a["MedHouseVal"] for a in answers], formula(built["float"]),
                               rtol=1e-12)
    assert all(list(a) == ["key", "MedHouseVal"] for a in answers)


def test_an_id_column_that_is_not_there(capsys, monkeypatch, built):
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], pandas_csv(), "--id", "house")
    assert rc == 2 and err.endswith(
        "housing predict: error: <stdin>, line 1: no column 'house' for --id; the columns are "
        "the unnamed first column (pandas' index), 'MedInc', 'HouseAge', 'AveRooms', "
        "'AveBedrms', 'Population', 'AveOccup', 'Latitude', 'Longitude', 'MedHouseVal'\n")


def test_csv_output_without_id_has_a_header(capsys, monkeypatch, built):
    rc, out, _ = run_predict(capsys, monkeypatch, built["float"], pandas_csv(), "--output", "csv")
    assert rc == 0 and out.splitlines()[0] == "MedHouseVal" and len(out.splitlines()) == 4


def test_every_row_before_a_bad_one_is_printed_first(capsys, monkeypatch, built):
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], bad_third_row())
    assert rc == 2 and err.splitlines()[-1] == ("housing predict: error: <stdin>, line 4, "
                                                "column 'AveRooms': expected a number, got 'n/a'")
    np.testing.assert_allclose(values(out), formula(built["float"], ROWS[:2]), rtol=1e-12)


def test_skip_invalid_names_each_bad_row_and_exits_1(capsys, monkeypatch, built):
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], bad_third_row(), "--skip-invalid",
                       "--id", "MedHouseVal")
    assert rc == 1
    assert out.splitlines()[-1] == f"{TRUTH[2]},"  # the skipped row: an empty prediction
    assert err.splitlines()[1:] == [
        "housing predict: skipped <stdin>, line 4, column 'AveRooms': expected a number, "
        "got 'n/a'", "housing predict: 1 row skipped"]
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], bad_third_row(), "--skip-invalid")
    assert rc == 1 and out.splitlines()[2] == ""  # without --id, an empty line keeps the place
    np.testing.assert_allclose(values(out.replace("\n\n", "\n")), formula(built["float"], ROWS[:2]),
                               rtol=1e-12)


def test_an_overflowing_prediction_is_an_error_never_inf(capsys, monkeypatch, built):
    X = ROWS.copy()
    X[1, [0, 3]] = 1.7e308  # both coefficients positive: the sum overflows
    text = ",".join(FEATURES) + "\n" + "\n".join(",".join(map(repr, r)) for r in X.tolist())
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], text.encode())
    assert rc == 2 and err == ("housing predict: error: <stdin>, line 3: the prediction "
                               "overflows to inf; expected features small enough for a "
                               "finite prediction\n")
    assert "inf" not in out and len(out.splitlines()) == 1


def test_rows_outside_the_training_range_are_counted_and_strict_refuses_them(
        capsys, monkeypatch, built):
    model = store.load_model(built["float"])
    lat = FEATURES.index("Latitude")
    X = np.tile(model.ranges.min + (model.ranges.max - model.ranges.min) / 2, (4, 1))
    X[1, lat], X[3, 4] = 137.86, model.ranges.min[4] - 1  # rows 2 and 4 (lines 3 and 5): outside
    text = ",".join(FEATURES) + "\n" + "\n".join(",".join(map(repr, r)) for r in X.tolist())
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], text.encode())
    assert rc == 0 and len(out.splitlines()) == 4
    assert err == (f"housing predict: 2 rows have features outside the training range; first: "
                   f"<stdin>, line 3, Latitude 137.86, trained on {model.ranges.min[lat]:g} to "
                   f"{model.ranges.max[lat]:g}\n")
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], text.encode(), "--strict")
    assert rc == 2 and err == (f"housing predict: error: <stdin>, line 3, column 'Latitude': "
                               f"expected a value within the training range, "
                               f"{model.ranges.min[lat]:g} to {model.ranges.max[lat]:g}, got 137.86\n")
    assert len(out.splitlines()) == 1


def test_the_training_ranges_are_the_training_rows(built):
    split = store.load_split(built["split"]).arrays
    model = store.load_model(built["quantized"])
    X = split["X_train"]
    np.testing.assert_array_equal(model.ranges.min, X.min(axis=0))
    np.testing.assert_array_equal(model.ranges.max, X.max(axis=0))
    # 0.1 % quantile by hand: numpy's default (linear) between the two nearest order stats
    pos = 0.001 * (len(X) - 1)
    s = np.sort(X, axis=0)
    by_hand = s[int(pos)] + (pos - int(pos)) * (s[int(pos) + 1] - s[int(pos)])
    np.testing.assert_allclose(model.ranges.q001, by_hand, rtol=1e-12)
    # mean and the population standard deviation, by their definitions in Python floats
    for j in (0, 4):
        column = X[:, j].tolist()
        mean = math.fsum(column) / len(column)
        assert model.ranges.mean[j] == pytest.approx(mean, rel=1e-12)
        std = math.sqrt(math.fsum((x - mean) ** 2 for x in column) / len(column))
        assert model.ranges.std[j] == pytest.approx(std, rel=1e-12)


def test_the_deciles_cut_the_training_rows_in_tenths(built):
    """MedInc, Population, AveOccup and the coordinates have few ties: each of their bins
    holds a tenth of the training rows, as near as whole rows and ties allow."""
    X = store.load_split(built["split"]).arrays["X_train"]
    ranges = store.load_model(built["quantized"]).ranges
    counts = ranges.bin_counts(X)
    assert counts.shape == (8, 10) and (counts.sum(axis=1) == len(X)).all()
    for j in (0, 4, 5):
        assert abs(counts[j] - len(X) / 10).max() <= 2, counts[j]
    # HouseAge holds whole years: its ties leave bins uneven, yet none empty
    assert (counts[1] > 0).all()


def test_a_value_on_a_decile_is_in_the_bin_that_decile_closes():
    one = np.array([[0.5]])
    ranges = Ranges(one[0], one[0], one[0], one[0], one[0], one[0],
                    np.arange(1.0, 10.0)[:, None])
    X = np.array([[-5.0], [1.0], [1.5], [9.0], [9.5], [4.0], [4.0000001]])
    assert ranges.bins(X)[:, 0].tolist() == [0, 0, 1, 8, 9, 3, 4]
    assert ranges.bin_counts(X).tolist() == [[2, 1, 0, 1, 1, 0, 0, 0, 1, 1]]
    assert ranges.bin_counts(X[:1]).tolist() == [[1, 0, 0, 0, 0, 0, 0, 0, 0, 0]]  # top bins empty


def test_the_deciles_are_values_seen_in_training():
    # 1 to 20: the p-th decile is the smallest value with a share p of the rows at or below
    # it, 2, 4, ..., 18 (numpy's default would interpolate: 2.9, 4.8, ...)
    X = np.arange(1.0, 21.0)[:, None]
    assert training_ranges(X).deciles[:, 0].tolist() == [2, 4, 6, 8, 10, 12, 14, 16, 18]


def test_without_id_a_skipped_row_keeps_its_place_in_every_output(capsys, monkeypatch, built):
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], bad_third_row(),
                               "--output", "jsonl", "--skip-invalid")
    assert rc == 1
    answers = [json.loads(line) for line in out.splitlines()]
    assert answers[2] == {"MedHouseVal": None} and len(answers) == 3
    np.testing.assert_allclose([a["MedHouseVal"] for a in answers[:2]],
                               formula(built["float"], ROWS[:2]), rtol=1e-12)
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], bad_third_row(),
                               "--output", "csv", "--skip-invalid")
    assert rc == 1 and out.splitlines()[0] == "MedHouseVal" and out.splitlines()[3] == ""
    np.testing.assert_allclose([float(v) for v in out.splitlines()[1:3]],
                               formula(built["float"], ROWS[:2]), rtol=1e-12)


def test_skipped_rows_keep_their_place_and_every_row_its_id(capsys, monkeypatch, built):
    X = np.tile(ROWS, (2, 1))
    X[1, [0, 3]] = 1.7e308  # overflows: refused after parsing
    text = rows_text(X).decode().splitlines()
    text = [",".join(["id"] + text[0].split(","))] + [f"r{i}," + line
                                                      for i, line in enumerate(text[1:])]
    text[4] = text[4].replace("8.3252", "x")  # row r3 (file line 5) cannot be read
    rc, out, err = run_predict(capsys, monkeypatch, built["float"],
                               ("\n".join(text) + "\n").encode(), "--skip-invalid", "--id", "id")
    lines = out.splitlines()
    assert rc == 1 and [line.split(",")[0] for line in lines] == [
        "id", "r0", "r1", "r2", "r3", "r4", "r5"]
    assert lines[2] == "r1," and lines[4] == "r3,"  # in place, with empty predictions
    good = [0, 2, 4, 5]
    np.testing.assert_allclose([float(lines[1 + i].split(",")[1]) for i in good],
                               formula(built["float"], X[good]), rtol=1e-12)
    assert err.splitlines()[-3:] == [
        "housing predict: skipped <stdin>, line 3: the prediction overflows to inf; expected "
        "features small enough for a finite prediction",
        "housing predict: skipped <stdin>, line 5, column 'MedInc': expected a number, got 'x'",
        "housing predict: 2 rows skipped"]


def test_strict_still_refuses_an_overflow(capsys, monkeypatch, built):
    model = store.load_model(built["float"])
    X = np.tile((model.ranges.min + model.ranges.max) / 2, (2, 1))
    X[1, [0, 3]] = 1.7e308  # outside the range too; the overflow is what is named
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], rows_text(X), "--strict")
    assert rc == 2 and err.startswith("housing predict: error: <stdin>, line 3: ")
    assert err == ("housing predict: error: <stdin>, line 3: the prediction overflows to inf; "
                   "expected features small enough for a finite prediction\n")


def test_the_training_range_includes_its_ends_and_one_row_is_one_row(capsys, monkeypatch,
                                                                     built):
    model = store.load_model(built["float"])
    X = np.vstack([model.ranges.min, model.ranges.max, model.ranges.max])
    X[2, 1] = np.nextafter(model.ranges.max[1], np.inf)  # the smallest step past the top
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], rows_text(X))
    assert rc == 0 and len(out.splitlines()) == 3
    assert err == (f"housing predict: 1 row has features outside the training range; first: "
                   f"<stdin>, line 4, HouseAge {X[2, 1]:g}, trained on {model.ranges.min[1]:g} to "
                   f"{model.ranges.max[1]:g}\n")
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], rows_text(X[:2]),
                               "--strict")
    assert (rc, err) == (0, "") and len(out.splitlines()) == 2


def test_ids_are_written_back_as_csv_quotes_them(capsys, monkeypatch, built):
    # ids of every JSON kind: text with a comma, text with quotes, a number, and none
    keys = ["a, b", 'say "hi"', 17, "MAX 9"]
    doc = [dict(r, key=k) for r, k in zip(RECORDS + RECORDS[:1], keys)] + [RECORDS[0]]
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], json.dumps(doc).encode(),
                               "--id", "key")
    assert rc == 0
    assert [line.rsplit(",", 1)[0] for line in out.splitlines()] == [
        "key", '"a, b"', '"say ""hi"""', "17", "MAX 9", ""]


def test_checked_predict_keeps_rows_outside_the_range_unless_strict(built):
    model = store.load_model(built["float"])
    X = np.array([model.ranges.max + 1])
    chunk = Chunk(X, [7], lambda no: f"row {no}")
    y, keep, refused = p.checked_predict(model, chunk.X)
    assert keep.tolist() == [0] and refused == []
    y, keep, refused = p.checked_predict(model, chunk.X, strict=True)
    assert keep.tolist() == [] and refused[0].row == 0
    assert chunk.refused(refused)[0].message == (
        f"row 7, column 'MedInc': expected a value within the training range, "
        f"{model.ranges.min[0]:g} to {model.ranges.max[0]:g}, got {X[0, 0]:g}")


def with_ids(X):
    """CSV of X with an id column: r0, r1, ..."""
    lines = rows_text(X).decode().splitlines()
    return ("\n".join(["id," + lines[0]] + [f"r{i}," + line for i, line in enumerate(lines[1:])])
            + "\n").encode()


def test_strict_names_each_refused_row_in_place_with_its_id(capsys, monkeypatch, built):
    model = store.load_model(built["float"])
    X = np.tile((model.ranges.min + model.ranges.max) / 2, (3, 1))
    X[1, 6] = 7.0  # Latitude, far below the training range
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], with_ids(X), "--strict",
                               "--skip-invalid", "--id", "id")
    assert rc == 1 and [line.split(",")[0] for line in out.splitlines()] == [
        "id", "r0", "r1", "r2"] and out.splitlines()[2] == "r1,"
    assert err.splitlines()[0] == (
        f"housing predict: skipped <stdin>, line 3, column 'Latitude': expected a value within "
        f"the training range, {model.ranges.min[6]:g} to {model.ranges.max[6]:g}, got 7")


def test_integer_and_strict_name_the_training_range_where_the_inputs_fit(capsys, monkeypatch,
                                                                         built):
    model = store.load_model(built["quantized"])
    X = np.tile((model.ranges.min + model.ranges.max) / 2, (2, 1))
    X[1, 6] = 7.0  # outside the training range, well within what the int32 inputs hold
    rc, out, err = run_predict(capsys, monkeypatch, built["quantized"], rows_text(X),
                               "--integer", "--strict")
    assert rc == 2 and err == (
        f"housing predict: error: <stdin>, line 3, column 'Latitude': expected a value within "
        f"the training range, {model.ranges.min[6]:g} to {model.ranges.max[6]:g}, got 7\n")


def test_integer_names_the_column_its_inputs_cannot_hold_past_one_at_their_edge(
        capsys, monkeypatch, built):
    # the edges of what the int32 inputs hold are inside: the column past them is named
    model = store.load_model(built["quantized"])
    low, high = integer.limits(model.kernel)
    X = np.tile((model.ranges.min + model.ranges.max) / 2, (3, 1))
    X[1, 0] = low[0]
    X[2, 0] = high[0]
    X[1:, 4] = 1e12  # Population, past what its input holds
    rc, out, err = run_predict(capsys, monkeypatch, built["quantized"], with_ids(X),
                               "--integer", "--skip-invalid", "--id", "id")
    assert rc == 1 and out.splitlines()[2:] == ["r1,", "r2,"]
    assert err.splitlines()[:2] == [
        f"housing predict: skipped <stdin>, line {no}, column 'Population': expected a value "
        f"the integer model's inputs hold, {low[4]:g} to {high[4]:g}, got 1e+12"
        for no in (3, 4)]


def test_without_skip_invalid_no_row_after_a_bad_one_is_written(capsys, monkeypatch, built):
    # JSON Lines: a bad row in the middle of what is read at once
    lines = [json.dumps(r) for r in RECORDS]
    lines[1] = lines[1].replace("5.6431", '"x"')
    rc, out, err = run_predict(capsys, monkeypatch, built["float"],
                               ("\n".join(lines) + "\n").encode())
    assert rc == 2 and len(values(out)) == 1
    np.testing.assert_allclose(values(out), formula(built["float"], ROWS[:1]), rtol=1e-12)
    assert err == "housing predict: error: <stdin>, line 2, column 'MedInc': expected a " \
                  "number, got 'x'\n"


def test_an_id_that_is_not_unicode_text_is_written_escaped(capsys, monkeypatch, built):
    # JSON may hold a lone surrogate, which UTF-8 cannot encode
    line = json.dumps(dict(RECORDS[0], key="a\ud800b"))
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], line.encode(),
                               "--id", "key")
    assert (rc, out.splitlines()[1].split(",")[0]) == (0, "a\\ud800b")
