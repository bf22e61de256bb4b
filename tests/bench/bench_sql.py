"""SQL benchmark: figures to read, never assertions. Run in .venv-engines (make engines).

    python tests/bench/bench_sql.py --model artifacts/models/quantized.npz [--rows 1000000]
        [--spark-rows 10000000] [--repeat 3]

(a) ``--rows`` CSV rows to a CSV of predictions: DuckDB running the exported query,
    against ``housing predict`` and against pandas + a joblib-loaded scikit-learn model;
(b) Spark local[2] over ``--spark-rows`` cached Parquet rows: the exported query, against
    a pandas UDF running the same numpy sum and against MLflow's ``spark_udf`` on the
    scikit-learn model, and orbital's SQL for the same LinearRegression, where installed.
Every figure is the median of ``--repeat`` runs, the contenders taking turns after one
unmeasured run each; predictions are checked equal to ``housing predict``'s (bit for bit)
and their share printed.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
HOUSING = str(ROOT / ".venv" / "bin" / "python")
FEATURES = ("MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup",
            "Latitude", "Longitude")


def housing(*args, **kw):
    return subprocess.run([HOUSING, "-m", "housing", *args], cwd=ROOT, check=True,
                          capture_output=True, **kw)


def rows(n, seed=0):
    """n rows like the test split's: resampled from it, so values are realistic."""
    sys.path.insert(0, str(ROOT))
    from housing import store
    split = store.load_split(ROOT / "artifacts" / "data" / "split.npz").arrays
    X = split["X_test"]
    return X[np.random.default_rng(seed).integers(0, len(X), n)]


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def taking_turns(contenders, repeat):
    """{name: median seconds}: one unmeasured run each, then ``repeat`` rounds in turn."""
    for fn in contenders.values():
        fn()
    seconds = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, fn in contenders.items():
            seconds[name].append(timed(fn))
    return {name: statistics.median(s) for name, s in seconds.items()}


def csv_bench(args, tmp):
    import duckdb
    import joblib
    import pandas as pd
    from sklearn.linear_model import LinearRegression
    X = rows(args.rows)
    csv = tmp / "rows.csv"
    pd.DataFrame(X, columns=FEATURES).to_csv(csv, index=False, float_format="%.17g")  # exact
    query = housing("sql", "--model", args.model, "--dialect", "duckdb").stdout.decode()
    query = query.rstrip().rstrip(";")
    split = np.load(ROOT / "artifacts" / "data" / "split.npz", allow_pickle=False)
    joblib.dump(LinearRegression().fit(split["X_train"], split["y_train"]), tmp / "m.joblib")

    def duck():
        db = duckdb.connect()
        db.execute(f"CREATE VIEW houses AS SELECT * FROM read_csv('{csv}', header=true)")
        db.execute(f"COPY (SELECT prediction FROM ({query})) TO '{tmp / 'duck.csv'}' "
                   f"(HEADER false)")

    def ours():
        with open(csv, "rb") as f, open(tmp / "ours.csv", "wb") as out:
            subprocess.run([HOUSING, "-m", "housing", "predict", "--model", args.model],
                           stdin=f, stdout=out, check=True, cwd=ROOT)

    def pandas_sklearn():
        model = joblib.load(tmp / "m.joblib")
        frame = pd.read_csv(csv)
        pd.Series(model.predict(frame[list(FEATURES)].to_numpy())).to_csv(
            tmp / "pandas.csv", index=False, header=False)
    medians = taking_turns({"duckdb": duck, "housing predict": ours,
                            "pandas + scikit-learn": pandas_sklearn}, args.repeat)
    ours_y = np.loadtxt(tmp / "ours.csv")
    duck_y = np.loadtxt(tmp / "duck.csv")
    equal = np.mean(ours_y == duck_y)
    print(f"bench-sql: (a) {args.rows:,} CSV rows to a CSV of predictions: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in medians.items()))
    print(f"bench-sql: (a) DuckDB is {medians['pandas + scikit-learn'] / medians['duckdb']:.1f}x "
          f"pandas + scikit-learn and {medians['housing predict'] / medians['duckdb']:.1f}x "
          f"housing predict; {equal:.2%} of its predictions equal housing predict's bit for bit")


def spark_bench(args, tmp):
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql import SparkSession
    from pyspark.sql.functions import pandas_udf
    X = rows(args.spark_rows, seed=1)
    parquet = tmp / "rows.parquet"
    table = pa.table({"id": np.arange(len(X)), **{f: X[:, j] for j, f in enumerate(FEATURES)}})
    pq.write_table(table, parquet, compression="gzip")  # snappy fails where musl-tools is installed
    query = housing("sql", "--model", args.model, "--dialect", "spark").stdout.decode()
    query = query.rstrip().rstrip(";")
    sys.path.insert(0, str(ROOT))
    from housing import store
    m = store.load_model(args.model)
    coef = m.coef.tolist()
    intercept = m.intercept
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the UDFs' workers: this environment
    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "2")
             .config("spark.driver.memory", "4g").getOrCreate())
    spark.read.parquet(str(parquet)).cache().createOrReplaceTempView("houses")
    spark.sql("SELECT count(*) FROM houses").collect()  # cached before any is timed

    @pandas_udf("double")
    def numpy_udf(*columns: pd.Series) -> pd.Series:
        y = np.full(len(columns[0]), intercept)
        for column, c in zip(columns, coef):
            y += column.to_numpy() * c
        return pd.Series(y)

    def total(frame, column):
        return frame.agg({column: "sum"}).collect()[0][0]

    def exported():
        total(spark.sql(query), "prediction")

    def udf():
        total(spark.table("houses").select(numpy_udf(*FEATURES).alias("p")), "p")
    contenders = {"the exported query": exported, "a pandas UDF (numpy)": udf}
    contenders.update(mlflow_udf(spark, tmp) or {})
    contenders.update(orbital_sql(spark, tmp) or {})
    medians = taking_turns(contenders, args.repeat)
    answers = spark.sql(query).select("id", "prediction").toPandas().sort_values("id")
    expected = np.full(len(X), intercept)  # housing predict's sum, in its order
    for j, c in enumerate(coef):
        expected += X[:, j] * c
    equal = np.mean(answers["prediction"].to_numpy() == expected)
    print(f"bench-sql: (b) Spark local[2], {args.spark_rows:,} cached Parquet rows: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in medians.items()))
    base = medians["the exported query"]
    print("bench-sql: (b) the exported query against: "
          + ", ".join(f"{k} {v / base:.1f}x" for k, v in medians.items() if v != base)
          + f"; {equal:.2%} of its predictions equal numpy's in predict's order, bit for bit")
    spark.stop()


def mlflow_udf(spark, tmp):
    """MLflow's spark_udf over the scikit-learn model, where MLflow is installed."""
    try:
        import mlflow.pyfunc
        import mlflow.sklearn
    except ImportError:
        print("bench-sql: (b) MLflow is not installed here: its spark_udf is not measured")
        return None
    from sklearn.linear_model import LinearRegression
    split = np.load(ROOT / "artifacts" / "data" / "split.npz", allow_pickle=False)
    path = tmp / "mlflow-model"
    mlflow.sklearn.save_model(LinearRegression().fit(split["X_train"], split["y_train"]),
                              str(path))
    udf = mlflow.pyfunc.spark_udf(spark, str(path), result_type="double", env_manager="local")

    def run():
        spark.table("houses").select(udf(*FEATURES).alias("p")).agg({"p": "sum"}).collect()
    return {"MLflow spark_udf": run}


def orbital_sql(spark, tmp):
    """orbital's SQL for the same LinearRegression, where orbital is installed."""
    try:
        import ibis
        import orbital
        import orbital.types
        ibis.pyspark  # loads ibis' Spark backend, whose options its SQL compiler reads
    except ImportError:
        print("bench-sql: (b) orbital is not installed here: its SQL is not measured")
        return None
    import pandas as pd
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import Pipeline
    split = np.load(ROOT / "artifacts" / "data" / "split.npz", allow_pickle=False)
    frame = pd.DataFrame(split["X_train"], columns=FEATURES)
    pipeline = Pipeline([("lr", LinearRegression())]).fit(frame, split["y_train"])
    parsed = orbital.parse_pipeline(pipeline, features=orbital.types.guess_datatypes(frame))
    text = orbital.export_sql("houses", parsed, dialect="pyspark")  # ibis names Spark so

    def run():
        frame = spark.sql(text)
        frame.agg({frame.columns[-1]: "sum"}).collect()
    return {"orbital's SQL": run}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=str(ROOT / "artifacts" / "models" / "quantized.npz"))
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--spark-rows", type=int, default=10_000_000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        csv_bench(args, Path(tmp))
        spark_bench(args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
