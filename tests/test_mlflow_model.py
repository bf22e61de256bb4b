"""housing mlflow: an MLflow model folder that MLflow itself loads and serves, giving
housing predict's answers. MLflow runs in .venv-engines (make engines); without it the
MLflow tests skip, saying why."""
import json
import subprocess
import urllib.request

import numpy as np
import pytest

from housing import mlflow, splitfile
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
    assert [(i["name"], i["type"]) for i in inputs] == [(f, "double") for f in FEATURES]
    assert (folder / "model.npz").read_bytes() == built["quantized"].read_bytes()
    assert (folder / "code" / "housing" / "pyfunc.py").exists()
    assert (folder / "requirements.txt").read_text() == f"numpy=={np.__version__}\n"


@needs_mlflow
@pytest.mark.parametrize("kind", ["float", "quantized"])
def test_mlflow_load_model_predicts_as_housing_predict(folders, capsys, monkeypatch, built, kind):
    _, split = splitfile.load_split(built["split"])
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
