"""housing mlflow: an MLflow model folder that MLflow itself loads and serves, giving
housing predict's answers. MLflow runs in .venv-engines (make engines); without it the
MLflow tests skip, saying why."""
import json
import subprocess
import urllib.request

import numpy as np
import pytest

from housing import mlflow, store
from housing.config import FEATURES, ROOT

from helpers import run_predict
from repo import free_port, plain_env, wait_answering

ENGINES = ROOT / ".venv-engines" / "bin" / "python"
HAS_MLFLOW = ENGINES.exists() and subprocess.run(
    [ENGINES, "-c", "import mlflow.pyfunc"], capture_output=True).returncode == 0
needs_mlflow = pytest.mark.skipif(not HAS_MLFLOW, reason="MLflow is not installed: make engines")

LOAD = """
import json, sys
import pandas as pd
import mlflow.pyfunc
model = mlflow.pyfunc.load_model(sys.argv[1])
frame = pd.DataFrame(json.loads(sys.argv[2]), columns=json.loads(sys.argv[3]))
print(json.dumps(model.predict(frame).tolist()))
"""


def csv_text(X):
    return (",".join(FEATURES) + "\n"
            + "".join(",".join(map(repr, row)) + "\n" for row in X.tolist())).encode()


def predicted(capsys, monkeypatch, model, X):
    rc, out, err = run_predict(capsys, monkeypatch, model, csv_text(X))
    assert rc == 0, err
    return [float(v) for v in out.split()]


@pytest.fixture(scope="module")
def folders(built, tmp_path_factory):
    out = tmp_path_factory.mktemp("mlflow")
    for kind in ("float", "quantized"):
        assert mlflow.main(["--model", str(built[kind]), "--out", str(out / kind)]) == 0
    return out


def test_the_folder_holds_the_mlmodel_the_model_and_the_code(folders, built):
    folder = folders / "quantized"
    text = (folder / "MLmodel").read_text()
    assert "    loader_module: housing.pyfunc\n" in text and "    code: code\n" in text
    inputs = json.loads(text.split("  inputs: '")[1].split("'\n")[0])
    # "any": MLflow's "double" refuses the int64 columns pandas reads from "41"
    assert [(i["name"], i["type"]) for i in inputs] == [(f, "any") for f in FEATURES]
    assert (folder / "model.npz").read_bytes() == built["quantized"].read_bytes()
    assert (folder / "code" / "housing" / "pyfunc.py").exists()
    assert (folder / "requirements.txt").read_text() == f"numpy=={np.__version__}\n"


@needs_mlflow
@pytest.mark.parametrize("kind", ["float", "quantized"])
def test_mlflow_load_model_predicts_as_housing_predict(folders, capsys, monkeypatch, built, kind):
    split = store.load_split(built["split"]).arrays
    X = split["X_test"]
    run = subprocess.run([ENGINES, "-c", LOAD, str(folders / kind), json.dumps(X.tolist()),
                          json.dumps(FEATURES)], capture_output=True, text=True, timeout=300,
                         cwd="/")
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout) == predicted(capsys, monkeypatch, built[kind], X)


@needs_mlflow
def test_mlflow_models_serve_answers_as_housing_predict(folders, capsys, monkeypatch, built,
                                                        tmp_path):
    port = free_port()
    mlflow_cli = ENGINES.parent / "mlflow"
    with open(tmp_path / "log", "w") as log:
        proc = subprocess.Popen([mlflow_cli, "models", "serve", "-m", str(folders / "quantized"),
                                 "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
                                stdout=log, stderr=log, cwd=tmp_path,
                                env=dict(plain_env(), PATH=f"{ENGINES.parent}:{plain_env()['PATH']}"))
    try:
        wait_answering(f"http://127.0.0.1:{port}/ping", proc, tmp_path / "log", seconds=120)
        body = json.dumps({"dataframe_split": {"columns": list(FEATURES),
                                               "data": [list(r) for r in
                                                        [[8.3252, 41.0, 6.98, 1.02, 322.0, 2.55,
                                                          37.88, -122.23]] * 2]}}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    X = np.array([[8.3252, 41.0, 6.98, 1.02, 322.0, 2.55, 37.88, -122.23]] * 2)
    assert answer == {"predictions": predicted(capsys, monkeypatch, built["quantized"], X)}


READ_CSV = """
import io, json, sys
import pandas as pd
import mlflow.pyfunc
model = mlflow.pyfunc.load_model(sys.argv[1])
frame = pd.read_csv(io.StringIO(sys.argv[2]))
print(json.dumps([str(t) for t in frame.dtypes]))
print(json.dumps(model.predict(frame).tolist()))
"""


@needs_mlflow
@pytest.mark.parametrize("kind", ["float", "quantized"])
def test_mlflow_predicts_the_frame_pandas_reads_from_integral_text(folders, capsys, monkeypatch,
                                                                   built, kind):
    text = (",".join(FEATURES) + "\n8.3252,41,6.98,1.02,322,2.55,37.88,-122.23\n"
            "5.6431,52,5.82,1.07,558,2.55,37.85,-122.25\n")
    run = subprocess.run([ENGINES, "-c", READ_CSV, str(folders / kind), text],
                         capture_output=True, text=True, timeout=300, cwd="/")
    assert run.returncode == 0, run.stderr[-3000:]
    dtypes, answer = map(json.loads, run.stdout.splitlines())
    assert dtypes[1] == dtypes[4] == "int64"  # HouseAge and Population, as pandas reads them
    rc, out, err = run_predict(capsys, monkeypatch, built[kind], text.encode())
    assert rc == 0 and answer == [float(v) for v in out.split()]


REFUSE = """
import json, sys
import numpy as np, pandas as pd
import mlflow.pyfunc
model = mlflow.pyfunc.load_model(sys.argv[1])
row = dict(zip(json.loads(sys.argv[2]), [8.3252, 41, 6.98, 1.02, 322, 2.55, 37.88, -122.23]))
for value, dtype in [("x", None), (None, None), (pd.NA, object),
                     (pd.Timestamp("2020-01-01"), None), (True, None), (np.inf, None)]:
    frame = pd.DataFrame([row, row])
    frame["AveRooms"] = pd.Series([6.98, value], dtype=dtype)  # None: NaN, in float64
    try:
        model.predict(frame)
        print("answered")
    except Exception as e:
        print(e)
"""


@needs_mlflow
def test_mlflow_refuses_what_is_not_a_finite_number_naming_row_and_column(folders):
    run = subprocess.run([ENGINES, "-c", REFUSE, str(folders / "quantized"),
                          json.dumps(FEATURES)], capture_output=True, text=True, timeout=300,
                         cwd="/")
    assert run.returncode == 0, run.stderr[-3000:]
    where = "model input, row 2, column 'AveRooms': expected"
    assert run.stdout.splitlines() == [
        f"{where} a number, got 'x'", f"{where} a finite number, got nan", f"{where} a number, got <NA>",
        f"{where} a number, got Timestamp('2020-01-01 00:00:00')", f"{where} a number, got True",
        f"{where} a finite number, got inf"]


SIGNATURE = """
import json, sys
import mlflow.models
print(json.dumps(mlflow.models.Model.load(sys.argv[1]).signature.inputs.input_names()))
"""


@needs_mlflow
def test_a_feature_name_with_quotes_reaches_mlflows_signature_as_it_is(built, tmp_path):
    names = ["it's", 'a "name"', "Größe: ' \\"]
    with np.load(built["quantized"], allow_pickle=False) as f:
        meta = json.loads(f["meta"][()].decode())
        arrays = {k: f[k] for k in f.files if k != "meta"}
    meta["features"][:3] = names
    store.save_npz(tmp_path / "m.npz", meta, arrays)
    assert mlflow.main(["--model", str(tmp_path / "m.npz"), "--out", str(tmp_path / "f")]) == 0
    run = subprocess.run([ENGINES, "-c", SIGNATURE, str(tmp_path / "f")], capture_output=True,
                         text=True, timeout=300, cwd="/")
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads(run.stdout) == names + list(FEATURES[3:])


SPARK_UDF = """
import json, sys
import mlflow.pyfunc
from pyspark.sql import SparkSession
from pyspark.sql.functions import struct
spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
         .getOrCreate())
frame = spark.read.csv(sys.argv[2], header=True, inferSchema=True)
udf = mlflow.pyfunc.spark_udf(spark, sys.argv[1], result_type="double", env_manager="local")
print(json.dumps([str(t) for _, t in frame.dtypes]))
for call in (udf(), udf(struct(*frame.columns))):
    print(json.dumps([row.p for row in frame.withColumn("p", call).collect()]))
spark.stop()
"""


@needs_mlflow
def test_spark_udf_called_as_the_docs_say_predicts_as_housing_predict(folders, capsys,
                                                                      monkeypatch, built,
                                                                      tmp_path):
    # an extra column first, and integral columns Spark reads as int
    text = ("x," + ",".join(FEATURES) + "\n99,8.3252,41,6.98,1.02,322,2.55,37.88,-122.23\n"
            "7,5.6431,52,5.82,1.07,558,2.55,37.85,-122.25\n")
    (tmp_path / "rows.csv").write_text(text)
    run = subprocess.run([ENGINES, "-c", SPARK_UDF, str(folders / "quantized"),
                          str(tmp_path / "rows.csv")], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path,
                         env=dict(plain_env(), PYSPARK_PYTHON=str(ENGINES)))
    assert run.returncode == 0, run.stderr[-3000:]
    dtypes, *answers = map(json.loads, run.stdout.splitlines())
    assert dtypes[0] == dtypes[2] == "int"
    rc, out, _ = run_predict(capsys, monkeypatch, built["quantized"], text.encode())
    assert rc == 0 and answers == [[float(v) for v in out.split()]] * 2
