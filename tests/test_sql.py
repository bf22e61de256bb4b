"""housing sql: the model as one query, run by real engines and compared with predict.

SQLite is Python's own sqlite3. DuckDB and Spark (local mode, reading Parquet) run in
.venv-engines (make engines), where the test skips, saying why, without them.
"""
import json
import sqlite3
import subprocess

import numpy as np
import pytest
import sqlglot

from housing import sql, store
from housing.config import FEATURES, ROOT

from helpers import run_predict
from test_store import rewrite

ENGINES = ROOT / ".venv-engines" / "bin" / "python"


def csv_text(X, columns=FEATURES):
    return (",".join(columns) + "\n"
            + "".join(",".join(map(repr, row)) + "\n" for row in X.tolist())).encode()


def predicted(capsys, monkeypatch, model, X, *flags):
    """housing predict's answers for X, as floats (None for a row it skipped)."""
    rc, out, err = run_predict(capsys, monkeypatch, model, csv_text(X), "--skip-invalid", *flags)
    return [float(v) if v else None for v in out.split("\n")[:len(X)]]


def in_sqlite(query, X, columns=FEATURES, table="houses"):
    """(prediction, outside_training_range) of each row of X, by SQLite."""
    db = sqlite3.connect(":memory:")
    names = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    quoted_table = '"' + table.replace('"', '""') + '"'
    db.execute(f"CREATE TABLE {quoted_table} (id INTEGER, {names.replace(',', ' REAL,')} REAL)")
    db.executemany(f"INSERT INTO {quoted_table} VALUES ({', '.join('?' * (len(columns) + 1))})",
                   [(i, *row) for i, row in enumerate(X.tolist())])
    cursor = db.execute(query)
    head = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    assert head == ["id", *columns, "prediction", "outside_training_range"]
    assert [r[0] for r in rows] == list(range(len(X)))  # every column kept, rows in order
    return [r[-2] for r in rows], [r[-1] for r in rows]


@pytest.fixture(scope="module")
def test_rows(built):
    split = store.load_split(built["split"]).arrays
    return split["X_test"]


@pytest.mark.parametrize("kind", ["float", "quantized"])
def test_sqlite_gives_predicts_answer_bit_for_bit(capsys, monkeypatch, built, test_rows, kind):
    query = sql.query(store.load_model(built[kind]), "sqlite")
    y, _ = in_sqlite(query, test_rows)
    expected = predicted(capsys, monkeypatch, built[kind], test_rows)
    assert len(y) == len(test_rows) > 500
    assert y == expected  # floats compared exactly: the same bits


@pytest.mark.parametrize("kind", ["float", "quantized"])
def test_outside_training_range_is_what_strict_refuses(capsys, monkeypatch, built, test_rows,
                                                       kind):
    model = store.load_model(built[kind])
    X = test_rows[:200].copy()
    X[::7, 4] = model.ranges.max[4] * 2  # Population past the top
    X[3::11, 6] = model.ranges.min[6] - 1  # Latitude below the bottom
    _, outside = in_sqlite(sql.query(model, "sqlite"), X)
    strict = predicted(capsys, monkeypatch, built[kind], X, "--strict")
    assert [bool(o) for o in outside] == [v is None for v in strict]
    assert 30 < sum(outside) < 60


def test_a_null_feature_gives_a_null_prediction(built):
    X = np.array([[8.3252, 41.0, 6.98, 1.02, 322.0, 2.55, 37.88, -122.23]] * 2)
    query = sql.query(store.load_model(built["float"]), "sqlite")
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE houses ({', '.join(FEATURES)})")
    db.execute(f"INSERT INTO houses VALUES ({', '.join(map(repr, X[0].tolist()))})")
    db.execute("INSERT INTO houses VALUES (8.3252, NULL, 6.98, 1.02, 322.0, 2.55, 37.88, -122.23)")
    rows = db.execute(query).fetchall()
    assert rows[0][-2] is not None and rows[1][-2] is None


@pytest.mark.parametrize("dialect", sql.DIALECTS)
def test_every_dialect_parses_back_and_keeps_float64_literals(built, dialect):
    text = sql.query(store.load_model(built["quantized"]), dialect)
    parsed = sqlglot.parse_one(text, read=dialect)
    casts = list(parsed.find_all(sqlglot.exp.Cast))
    assert len(casts) == 1 + 8 + 16  # the intercept, 8 coefficients, 8 lows and 8 highs
    for cast in casts:
        assert cast.to.this in (sqlglot.exp.DataType.Type.DOUBLE, sqlglot.exp.DataType.Type.FLOAT)
        assert cast.this.is_string  # a string, so no engine reads it as a DECIMAL
    assert "DECIMAL" not in text.upper() and "NUMERIC" not in text.upper()


def test_names_that_need_quoting_and_a_hostile_table_name(tmp_path, capsys, monkeypatch, built,
                                                          test_rows):
    names = ["Med Inc", 'a"b', "select", "Ave-Rooms", "AveBedrms", "Population", "AveOccup",
             "Lat;itude"]
    renamed = rewrite(built["float"], tmp_path / "m.npz", lambda m, a: m.update(features=names))
    table = 'houses"; DROP TABLE houses; --'
    query = sql.query(store.load_model(renamed), "sqlite", table=table)
    y, _ = in_sqlite(query, test_rows[:50], columns=names, table=table)
    expected = predicted(capsys, monkeypatch, built["float"], test_rows[:50])
    assert y == expected


def test_the_command_line(capsys, built):
    assert sql.main(["--model", str(built["float"]), "--dialect", "duckdb", "--table", "t"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SELECT\n  *,\n  CAST(") and out.endswith('FROM "t";\n')
    assert sql.main(["--model", str(built["float"]), "--dialect", "duckdb", "--table", ""]) == 2
    assert capsys.readouterr().err == (
        "housing sql: error: argument --table: expected a table's name, 1 to 128 printable "
        "characters, got '' (see --help)\n")
    assert sql.main(["--model", str(built["float"]), "--dialect", "oracle"]) == 2
    assert capsys.readouterr().err == (
        "housing sql: error: argument --dialect: invalid choice: 'oracle' (choose from "
        "'sqlite', 'duckdb', 'spark', 'postgres', 'bigquery', 'snowflake', 'trino', 'mysql') "
        "(see --help)\n")


ENGINE_SCRIPT = """
import json, sys
import numpy as np
engine, query, X = sys.argv[1], sys.argv[2], np.array(json.loads(sys.argv[3]))
features = json.loads(sys.argv[4])
import pyarrow as pa, pyarrow.parquet as pq
table = pa.table({"id": list(range(len(X))), **{f: X[:, j] for j, f in enumerate(features)}})
pq.write_table(table, sys.argv[5], compression="gzip")  # snappy fails where musl is installed
if engine == "duckdb":
    import duckdb
    db = duckdb.connect()
    db.execute(f"CREATE VIEW houses AS SELECT * FROM read_parquet('{sys.argv[5]}')")
    rows = db.execute(query.rstrip().rstrip(";")).fetchall()
    out = [[r[0], r[-2], r[-1]] for r in rows]
else:
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    spark.read.parquet(sys.argv[5]).createOrReplaceTempView("houses")
    rows = spark.sql(query.rstrip().rstrip(";")).collect()
    out = sorted([[r["id"], r["prediction"], r["outside_training_range"]] for r in rows])
    spark.stop()
print(json.dumps(out))
"""


def has_engine(module):
    return ENGINES.exists() and subprocess.run(
        [ENGINES, "-c", f"import {module}, pyarrow"], capture_output=True).returncode == 0


@pytest.mark.parametrize("engine, dialect", [
    pytest.param("duckdb", "duckdb", marks=pytest.mark.skipif(
        not has_engine("duckdb"), reason="DuckDB is not installed: make engines")),
    pytest.param("spark", "spark", marks=pytest.mark.skipif(
        not has_engine("pyspark"), reason="pyspark is not installed: make engines")),
])
@pytest.mark.parametrize("kind", ["float", "quantized"])
def test_duckdb_and_spark_give_predicts_answer_bit_for_bit(tmp_path, capsys, monkeypatch, built,
                                                         test_rows, engine, dialect, kind):
    model = store.load_model(built[kind])
    X = test_rows.copy()
    X[::9, 0] = model.ranges.max[0] + 1  # some rows outside the training range
    run = subprocess.run([ENGINES, "-c", ENGINE_SCRIPT, engine, sql.query(model, dialect),
                          json.dumps(X.tolist()), json.dumps(list(model.features)),
                          str(tmp_path / "rows.parquet")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = json.loads(run.stdout)
    assert [r[0] for r in rows] == list(range(len(X)))
    assert [r[1] for r in rows] == predicted(capsys, monkeypatch, built[kind], X)
    strict = predicted(capsys, monkeypatch, built[kind], X, "--strict")
    assert [r[2] for r in rows] == [v is None for v in strict]
