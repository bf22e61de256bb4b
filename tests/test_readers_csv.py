"""CSV read by predict: pandas' files, blocks and lines, gzip by its content."""
import io
import json

import numpy as np
import pytest

from housing import predict as p
from housing import readers
from housing.readers import lines
from housing.readers.chunk import all_rows
from housing.config import FEATURES

from helpers import ROWS, formula, pandas_csv, run_predict, values


class Endless:
    """A stream of one line that never ends, like /dev/zero: must be refused, not read."""

    def __init__(self):
        self.given = 0

    def read(self, n=-1):
        self.given += n
        assert self.given < 64 * lines.MAX_LINE, "read far past the line limit"
        return b"0" * n


def rows_text(X):
    return (",".join(FEATURES) + "\n" + "\n".join(",".join(map(repr, r)) for r in X.tolist())
            + "\n").encode()


# pandas' to_json orientations, as its documentation shows them for a frame of ROWS with
# the target: each is read as the same rows
FRAME = [dict(zip(FEATURES, r), MedHouseVal=t) for r, t in zip(ROWS.tolist(), [1.5, 2.5, 3.5])]


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


def test_all_rows_holds_a_small_table_whole_or_names_its_first_bad_row():
    text = rows_text(ROWS).decode().replace("5.6431", "x").encode()
    columns, chunks = readers.read(io.BytesIO(rows_text(ROWS)), FEATURES, "t.csv")
    np.testing.assert_array_equal(all_rows(chunks), ROWS)
    with pytest.raises(p.UserError) as e:
        all_rows(readers.read(io.BytesIO(text), FEATURES, "t.csv").chunks)
    assert str(e.value) == "t.csv, line 3, column 'MedInc': expected a number, got 'x'"


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
