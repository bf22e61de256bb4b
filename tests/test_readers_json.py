"""JSON documents (records and pandas' orientations) and JSON Lines, read by predict."""
import io
import json

import numpy as np
import pytest

from housing import readers
from housing.config import FEATURES

from helpers import ROWS, formula, run_predict, values

FRAME = [dict(zip(FEATURES, r), MedHouseVal=t) for r, t in zip(ROWS.tolist(), [1.5, 2.5, 3.5])]
COLUMNS = list(FEATURES) + ["MedHouseVal"]


RECORDS = [dict(zip(FEATURES, row)) for row in ROWS.tolist()]


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


def lines_that_join_into_json():
    """JSON Lines whose first line is a record and whose next three are each invalid JSON,
    though the four, joined as '[[' + '],['.join(lines) + ']]', parse as four records."""
    record = json.dumps(RECORDS[0])
    return "\n".join([record, record + "],[" + record,
                      record[:-1] + ', "d": [[1, {"e": 2}', '{"f": 1}]]}']) + "\n"


@pytest.mark.parametrize("skip", [False, True])
def test_json_lines_are_each_parsed_alone(capsys, monkeypatch, built, skip):
    text = lines_that_join_into_json()
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], text.encode(),
                               *(["--skip-invalid"] if skip else []))
    lines = text.splitlines()
    # line 2 stops being JSON after its first record; line 3 at its end, where the object
    # and lists it opened are not closed
    line2 = f"<stdin>, line 2: not valid JSON (Extra data at column {len(lines[0]) + 1})"
    line3 = (f"<stdin>, line 3: not valid JSON (Expecting ',' delimiter at column "
             f"{len(lines[2]) + 1})")
    line4 = "<stdin>, line 4: not valid JSON (Extra data at column 9)"
    assert values(out.split("\n\n")[0]) == pytest.approx(formula(built["float"], ROWS[:1]),
                                                         rel=1e-12)
    if not skip:
        assert rc == 2 and err == f"housing predict: error: {line2}\n"
    else:
        assert rc == 1 and out.count("\n") == 4 and err == (
            f"housing predict: skipped {line2}\nhousing predict: skipped {line3}\n"
            f"housing predict: skipped {line4}\nhousing predict: 3 rows skipped\n")


@pytest.mark.parametrize("text, where", [
    (json.dumps(RECORDS[:1])[:-2] + ', "MedInc": 1}]', "<stdin>"),
    (json.dumps(RECORDS[0]) + "\n" + json.dumps(RECORDS[1])[:-1] + ', "Latitude": 1}\n',
     "<stdin>, line 2"),
])
def test_a_key_given_twice_in_one_object_is_refused(capsys, monkeypatch, built, text, where):
    key = "MedInc" if "MedInc\": 1" in text else "Latitude"
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], text.encode())
    assert rc == 2 and err == (f"housing predict: error: {where}: the key '{key}' appears "
                               f"twice in one object; expected each once\n")
