"""predict on the inputs people have: pandas' CSV, JSON, JSON Lines, ids, bad rows, ranges."""
import io
import json

import numpy as np
import pytest

from housing import predict as p
from housing import readers, splitfile, store
from housing.readers import lines
from housing.readers.chunk import Chunk, all_rows
from housing.config import FEATURES

from helpers import ROWS, formula, run_predict

TRUTH = [4.526, 3.585, 2.267]
RECORDS = [dict(zip(FEATURES, row)) for row in ROWS.tolist()]






def values(out):
    return [float(line) for line in out.splitlines()]


def pandas_csv(X=ROWS):
    """What ``df.to_csv("rows.csv")`` writes for a frame of features and the target:
    the index first, under an empty name."""
    lines = ["," + ",".join(FEATURES) + ",MedHouseVal"]
    lines += [f"{i}," + ",".join(map(repr, row)) + f",{t}" for i, (row, t)
              in enumerate(zip(X.tolist(), TRUTH))]
    return ("\n".join(lines) + "\n").encode()


def test_pandas_csv_with_index_and_target_is_predicted_and_the_extras_named(
        capsys, monkeypatch, built):
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], pandas_csv())
    assert rc == 0
    np.testing.assert_allclose(values(out), formula(built["float"]), rtol=1e-12)
    assert err == ("housing predict: ignoring columns that are not features: the unnamed "
                   "first column (pandas' index), 'MedHouseVal'\n")


def test_text_columns_are_never_parsed(capsys, monkeypatch, built):
    lines = ["note," + ",".join(FEATURES)] + ['"a, b",' + ",".join(map(repr, row))
                                               for row in ROWS.tolist()]
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], "\n".join(lines).encode())
    assert rc == 0 and err == "housing predict: ignoring columns that are not features: 'note'\n"
    np.testing.assert_allclose(values(out), formula(built["float"]), rtol=1e-12)


JSON_SHAPES = {
    "records": json.dumps(RECORDS),
    "records, indented": json.dumps(RECORDS, indent=2),
    "split": json.dumps({"columns": list(FEATURES), "index": [0, 1, 2], "data": ROWS.tolist()}),
    "split, indented": json.dumps({"columns": list(FEATURES), "data": ROWS.tolist()}, indent=1),
    "json lines": "\n".join(json.dumps(r) for r in RECORDS) + "\n",
    "numeric strings": json.dumps([{k: str(v) for k, v in r.items()} for r in RECORDS]),
    "extra keys and a byte-order mark": "\ufeff" + json.dumps([dict(r, id=i) for i, r
                                                             in enumerate(RECORDS)]),
}


@pytest.mark.parametrize("shape", JSON_SHAPES)
@pytest.mark.parametrize("fmt", ["auto", "explicit"])
def test_every_json_shape(capsys, monkeypatch, built, shape, fmt):
    text = JSON_SHAPES[shape]
    extra = [] if fmt == "auto" else ["--format", "jsonl" if "lines" in shape else "json"]
    rc, out, err = run_predict(capsys, monkeypatch, built["quantized"], text.encode(), *extra)
    assert rc == 0, err
    np.testing.assert_allclose(values(out), formula(built["quantized"]), rtol=1e-12)


def test_the_format_is_told_by_the_first_byte():
    for text, fmt in [(b"  [", "json"), (b'\n{"a": 1}\n{"a": 2}', "jsonl"),
                      (b'{"columns": [], "data": []}', "json"), (b'{\n "columns"', "json"),
                      (b"MedInc,HouseAge", "csv"), (b"", "csv")]:
        stream, found = readers.detect(io.BytesIO(text))
        assert found == fmt and stream.read() == text


JSON_BAD = {
    "null": ([dict(RECORDS[0]), dict(RECORDS[1], AveRooms=None)],
             "<stdin>, record 2, column 'AveRooms': expected a number, got null"),
    "NaN": ('[{"MedInc": NaN' + json.dumps(RECORDS[0])[len('{"MedInc": 8.3252'):] + "]",
            "<stdin>: expected a finite number, got NaN"),
    "-Infinity in JSON Lines": (json.dumps(RECORDS[0]) + '\n{"MedInc": -Infinity}\n',
                                "<stdin>, line 2: expected a finite number, got -Infinity"),
    "nested too deeply": ("[" * 100000 + "]" * 100000,
                          "<stdin>: not valid JSON (nested too deeply)"),
    "underscores": ([dict(RECORDS[0], Population="1_000")],
                    "<stdin>, record 1, column 'Population': expected a number, got '1_000'"),
    "non-ASCII digits": ([dict(RECORDS[0], HouseAge="\u0664\u0661")],
                         "<stdin>, record 1, column 'HouseAge': expected a number, got "
                         "'\u0664\u0661'"),
    "true": ([dict(RECORDS[0], Latitude=True)],
             "<stdin>, record 1, column 'Latitude': expected a number, got true"),
    "text": ([RECORDS[0], RECORDS[1], dict(RECORDS[2], HouseAge="old")],
             "<stdin>, record 3, column 'HouseAge': expected a number, got 'old'"),
    "huge integer": ([dict(RECORDS[0], Population=10 ** 400)],
                     "<stdin>, record 1, column 'Population': '1" + "0" * 36 + "...' overflows "
                     "to infinity"),
    "missing key": ([RECORDS[0], {k: v for k, v in RECORDS[1].items() if k != "Longitude"}],
                    "<stdin>, record 2: missing Longitude"),
    "not a record": ([RECORDS[0], [1, 2]],
                     "<stdin>, record 2: expected an object of feature values, got an array"),
    "split row too short": ({"columns": list(FEATURES), "data": [ROWS[0].tolist()[:7]]},
                            "<stdin>, row 1 of 'data': expected 8 values, got 7"),
    "misspelt key": ([{("medinc" if k == "MedInc" else k): v for k, v in RECORDS[0].items()}],
                     "<stdin>, record 1: missing column MedInc ('medinc' looks like MedInc); "
                     "expected MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, "
                     "Latitude, Longitude"),
    "broken": (json.dumps(RECORDS)[:-30], "<stdin>: not valid JSON (Expecting value "
                                          "at column 437)"),
    "unterminated string": ('[{"MedInc": "8.3', "<stdin>: not valid JSON (Unterminated string "
                                                "starting at column 13)"),
    "empty array": ([], "<stdin>: no records; expected at least one"),
}


@pytest.mark.parametrize("case", JSON_BAD)
def test_bad_json_gets_the_record_and_column(capsys, monkeypatch, built, case):
    doc, message = JSON_BAD[case]
    text = doc if isinstance(doc, str) else json.dumps(doc)
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], text.encode())
    assert rc == 2 and err.startswith(f"housing predict: error: {message}")
    assert err.count("\n") == 1


def test_a_json_document_that_is_not_records(capsys, monkeypatch, built):
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], b"3", "--format", "json")
    assert rc == 2 and err == ("housing predict: error: <stdin>: expected JSON records "
                               "('[{...}, ...]') or pandas' split orientation "
                               "('{\"columns\": ..., \"data\": ...}'), got a number\n")


def test_json_lines_name_the_line(capsys, monkeypatch, built):
    text = json.dumps(RECORDS[0]) + "\n\n" + json.dumps(dict(RECORDS[1], MedInc="n/a")) + "\n"
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], text.encode())
    assert rc == 2 and err == ("housing predict: error: <stdin>, line 3, column 'MedInc': "
                               "expected a number, got 'n/a'\n")
    np.testing.assert_allclose(values(out), formula(built["float"], ROWS[:1]), rtol=1e-12)


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


def bad_third_row():
    text = pandas_csv().decode().splitlines()
    text[3] = text[3].replace("4.29", "n/a")
    return ("\n".join(text) + "\n").encode()


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


class Endless:
    """A stream of one line that never ends, like /dev/zero: must be refused, not read."""

    def __init__(self):
        self.given = 0

    def read(self, n=-1):
        self.given += n
        assert self.given < 64 * lines.MAX_LINE, "read far past the line limit"
        return b"0" * n


def test_a_line_over_the_limit_is_refused_without_reading_on(capsys, monkeypatch, built):
    head = (",".join(FEATURES) + "\n").encode()
    stream = lines.Replay(head, Endless())
    with pytest.raises(p.UserError) as e:
        columns, chunks = readers.read(stream, FEATURES, "<stdin>", "csv")
        list(chunks)
    assert str(e.value) == "<stdin>, line 2: longer than 1,048,576 bytes; expected one row per line"
    with pytest.raises(p.UserError) as e:
        readers.read(lines.Replay(b'[{"MedInc": "', Endless()), FEATURES, "<stdin>", "json")
    assert str(e.value) == ("<stdin>: a JSON document over 16,777,216 bytes; for more rows, "
                            "write JSON Lines (df.to_json(orient='records', lines=True))")


def test_rows_outside_the_training_range_are_counted_and_strict_refuses_them(
        capsys, monkeypatch, built):
    model = store.load_model(built["float"])
    lat = FEATURES.index("Latitude")
    X = np.tile(model.low + (model.high - model.low) / 2, (4, 1))
    X[1, lat], X[3, 4] = 137.86, model.low[4] - 1  # rows 2 and 4 (lines 3 and 5): outside
    text = ",".join(FEATURES) + "\n" + "\n".join(",".join(map(repr, r)) for r in X.tolist())
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], text.encode())
    assert rc == 0 and len(out.splitlines()) == 4
    assert err == (f"housing predict: 2 rows have features outside the training range; first: "
                   f"<stdin>, line 3, Latitude 137.86, trained on {model.low[lat]:g} to "
                   f"{model.high[lat]:g}\n")
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], text.encode(), "--strict")
    assert rc == 2 and err == (f"housing predict: error: <stdin>, line 3, column 'Latitude': "
                               f"expected a value within the training range, "
                               f"{model.low[lat]:g} to {model.high[lat]:g}, got 137.86\n")
    assert len(out.splitlines()) == 1


def test_the_training_ranges_are_the_training_rows(built):
    _, split = splitfile.load_split(built["split"])
    model = store.load_model(built["quantized"])
    X = split["X_train"]
    np.testing.assert_array_equal(model.low, X.min(axis=0))
    np.testing.assert_array_equal(model.high, X.max(axis=0))
    # 0.1 % quantile by hand: numpy's default (linear) between the two nearest order stats
    pos = 0.001 * (len(X) - 1)
    s = np.sort(X, axis=0)
    by_hand = s[int(pos)] + (pos - int(pos)) * (s[int(pos) + 1] - s[int(pos)])
    np.testing.assert_allclose(model.meta["ranges"]["q001"], by_hand, rtol=1e-12)


def rows_text(X):
    return (",".join(FEATURES) + "\n" + "\n".join(",".join(map(repr, r)) for r in X.tolist())
            + "\n").encode()


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
    X = np.tile((model.low + model.high) / 2, (2, 1))
    X[1, [0, 3]] = 1.7e308  # outside the range too; the overflow is what is named
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], rows_text(X), "--strict")
    assert rc == 2 and err.startswith("housing predict: error: <stdin>, line 3: ")
    assert err == ("housing predict: error: <stdin>, line 3: the prediction overflows to inf; "
                   "expected features small enough for a finite prediction\n")


def test_the_training_range_includes_its_ends_and_one_row_is_one_row(capsys, monkeypatch,
                                                                     built):
    model = store.load_model(built["float"])
    X = np.vstack([model.low, model.high, model.high])
    X[2, 1] = np.nextafter(model.high[1], np.inf)  # the smallest step past the top
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], rows_text(X))
    assert rc == 0 and len(out.splitlines()) == 3
    assert err == (f"housing predict: 1 row has features outside the training range; first: "
                   f"<stdin>, line 4, HouseAge {X[2, 1]:g}, trained on {model.low[1]:g} to "
                   f"{model.high[1]:g}\n")
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
    X = np.array([model.high + 1])
    chunk = Chunk(X, [7], lambda no: f"row {no}")
    y, keep, bad = p.checked_predict(model, chunk)
    assert keep.tolist() == [0] and bad == []
    y, keep, bad = p.checked_predict(model, chunk, strict=True)
    assert keep.tolist() == [] and bad[0][0] == 7


def test_all_rows_holds_a_small_table_whole_or_names_its_first_bad_row():
    text = rows_text(ROWS).decode().replace("5.6431", "x").encode()
    columns, chunks = readers.read(io.BytesIO(rows_text(ROWS)), FEATURES, "t.csv")
    np.testing.assert_array_equal(all_rows(chunks), ROWS)
    with pytest.raises(p.UserError) as e:
        all_rows(readers.read(io.BytesIO(text), FEATURES, "t.csv").chunks)
    assert str(e.value) == "t.csv, line 3, column 'MedInc': expected a number, got 'x'"


# pandas' to_json orientations, as its documentation shows them for a frame of ROWS with
# the target: each is read as the same rows
FRAME = [dict(zip(FEATURES, r), MedHouseVal=t) for r, t in zip(ROWS.tolist(), [1.5, 2.5, 3.5])]
COLUMNS = list(FEATURES) + ["MedHouseVal"]
ORIENTS = {
    "records": FRAME,
    "split": {"columns": COLUMNS, "index": [0, 1, 2],
              "data": [[r[c] for c in COLUMNS] for r in FRAME]},
    "index": {str(i): r for i, r in enumerate(FRAME)},
    "columns": {c: {str(i): r[c] for i, r in enumerate(FRAME)} for c in COLUMNS},
    "table": {"schema": {"fields": [{"name": "index", "type": "integer"}],
                         "primaryKey": ["index"], "pandas_version": "1.4.0"},
              "data": [dict(index=i, **r) for i, r in enumerate(FRAME)]},
}


@pytest.mark.parametrize("orient", ORIENTS)
@pytest.mark.parametrize("indent", [None, 2])
def test_every_pandas_orientation_with_column_names(capsys, monkeypatch, built, orient, indent):
    text = json.dumps(ORIENTS[orient], indent=indent).encode()
    rc, out, err = run_predict(capsys, monkeypatch, built["quantized"], text)
    assert rc == 0 and np.allclose([float(v) for v in out.split()],
                                   formula(built["quantized"]), rtol=0, atol=1e-12)


def test_the_values_orientation_and_parquet_get_what_to_do(capsys, monkeypatch, built):
    rc, out, err = run_predict(capsys, monkeypatch, built["quantized"],
                               json.dumps(ROWS.tolist()).encode())
    assert (rc, err) == (2, "housing predict: error: <stdin>, record 1: expected an object of "
                            "feature values, got an array (pandas' values orientation has no "
                            "column names: write df.to_json(orient=\"records\"))\n")
    rc, out, err = run_predict(capsys, monkeypatch, built["quantized"], b"PAR1\x15\x04")
    assert (rc, err) == (2, "housing predict: error: <stdin>: a Parquet file, which is not read "
                            "here; expected CSV or JSON: pd.read_parquet(path).to_csv("
                            "\"rows.csv\") converts it\n")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_gzip_is_told_by_content_and_damage_is_one_line(capsys, monkeypatch, built, fmt):
    import gzip
    text = (",".join(FEATURES) + "\n" + "\n".join(",".join(map(repr, r)) for r in ROWS.tolist())
            if fmt == "csv" else "\n".join(json.dumps(r) for r in FRAME)) + "\n"
    plain = run_predict(capsys, monkeypatch, built["quantized"], text.encode())
    packed = gzip.compress(text.encode())
    assert run_predict(capsys, monkeypatch, built["quantized"], packed) == plain
    rc, out, err = run_predict(capsys, monkeypatch, built["quantized"], packed[:-12])
    assert (rc, err.splitlines()[-1]) == (2, "housing predict: error: <stdin>: not valid gzip "
                                             "data (Compressed file ended before the "
                                             "end-of-stream marker was reached)")
