"""housing track and housing promote: runs recorded in MLflow's own store, the registry's
champion moved only through the gate, and back by a rollback. MLflow runs in
.venv-track (make track-env), where pip installed the package with its track extra;
without it the MLflow tests skip, saying why. The gate's arithmetic is tested here without MLflow."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sklearn.metrics import r2_score

from housing import gate, quantize, report, store, train
from housing.config import ROOT
from housing.model import predict
from housing.results import load_metrics

from helpers import synthetic, write_split
from repo import free_port, plain_env, wait_answering
from serving import call, stop

TRACK = ROOT / ".venv-track" / "bin" / "python"  # the package with its track extra
HAS_MLFLOW = TRACK.exists() and subprocess.run(
    [TRACK, "-c", "import mlflow"], capture_output=True).returncode == 0
needs_mlflow = pytest.mark.skipif(not HAS_MLFLOW,
                                  reason="MLflow is not installed: make track-env")


def pipeline(folder, seed=42, bits=8, scale=1.0):
    """The files of one pipeline run on the synthetic data: its split, models and metrics;
    ``scale`` multiplies the float model's coefficients (a worse model)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"data": folder / "split.npz", "float": folder / "float.npz",
             "quantized": folder / "quantized.npz", "metrics": folder / "metrics.json"}
    X, y = synthetic()
    write_split(paths["data"], X, y, seed=seed)
    assert train.main(["--data", str(paths["data"]), "--out", str(paths["float"])]) == 0
    if scale != 1.0:
        fitted = store.load_model(paths["float"])
        store.save_float(paths["float"], fitted.coef * scale, fitted.intercept, fitted.lineage)
    assert quantize.main(["--model", str(paths["float"]), "--data", str(paths["data"]),
                          "--bits", str(bits), "--out", str(paths["quantized"])]) == 0
    assert report.main(["--data", str(paths["data"]), "--float", str(paths["float"]),
                        "--quantized", str(paths["quantized"]),
                        "--metrics", str(paths["metrics"])]) == 0
    return paths


def candidate(paths):
    return gate.Candidate(store.load_model(paths["quantized"]), store.load_split(paths["data"]),
                          load_metrics(paths["metrics"]))


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipelines")
    return {"base": pipeline(root / "base"), "two bits": pipeline(root / "two bits", bits=2),
            "seed 7": pipeline(root / "seed 7", seed=7),
            "worse": pipeline(root / "worse", scale=0.97)}


def test_the_gate_refuses_a_quantized_model_far_from_its_float_one(pipelines):
    metrics = load_metrics(pipelines["two bits"]["metrics"])
    loss = metrics["float"]["r2"] - metrics["quantized"]["r2"]
    assert loss > gate.QUANTIZATION_LOSS
    verdict = gate.judge(candidate(pipelines["two bits"]), None)
    assert verdict == (False, [], f"its quantized model's test R² "
                                  f"{metrics['quantized']['r2']:.4f} is {loss:.4f} below its "
                                  f"float model's {metrics['float']['r2']:.4f}; expected at most "
                                  f"0.001")


def test_the_gate_refuses_a_model_worse_than_the_champion_beyond_noise(pipelines):
    champion = store.load_model(pipelines["base"]["quantized"])
    worse = candidate(pipelines["worse"])
    y = worse.split.arrays["y_test"]
    X = worse.split.arrays["X_test"]
    mine = r2_score(y, predict(worse.quantized, X))
    theirs = r2_score(y, predict(champion, X))
    verdict = gate.judge(worse, champion)
    assert not verdict.promote
    shown = re.fullmatch(r"gate: on the candidate's 800 test rows: champion R² (\S+), candidate "
                         r"R² (\S+), difference (\S+) ± (\S+)", verdict.lines[0])
    assert (float(shown[1]), float(shown[2])) == (round(theirs, 4), round(mine, 4))
    assert float(shown[3]) == round(mine - theirs, 4) < -2 * float(shown[4]) < 0
    said = re.fullmatch(r"the candidate's R² is (\S+) below the champion's, more than 2 "
                        r"standard errors \((\S+)\)", verdict.refusal)
    assert float(said[1]) == round(theirs - mine, 4)
    assert abs(float(said[2]) - 2 * float(shown[4])) <= 0.0001  # each rounded on its own
    # the same model against itself: no difference, promoted
    assert gate.judge(worse, worse.quantized).promote


def test_the_gate_refuses_a_kernel_the_report_did_not_measure(pipelines, tmp_path):
    base = candidate(pipelines["base"])
    metrics = json.loads(json.dumps(base.metrics))
    metrics["integer"]["r2"] = 0.5
    verdict = gate.judge(base._replace(metrics=metrics), None)
    dequantized = r2_score(base.split.arrays["y_test"],
                           predict(base.quantized, base.split.arrays["X_test"]))
    assert not verdict.promote and verdict.refusal.startswith(
        "its integer kernel gives test R² ")
    assert verdict.refusal.endswith(" as predict --integer runs it, but the report measured 0.5")
    assert abs(float(verdict.refusal.split()[6]) - dequantized) < 1e-4


def test_another_split_of_the_same_data_is_not_a_fair_comparison(pipelines):
    champion = store.load_model(pipelines["base"]["quantized"])
    verdict = gate.judge(candidate(pipelines["seed 7"]), champion)
    assert verdict.refusal == (
        "not a fair comparison: the champion was trained on the same data set split another "
        "way (seed 42, test share 0.2; the candidate's: seed 7, test share 0.2), so on some of "
        "the candidate's test rows; --force promotes it anyway, and says so in the registry")
    assert gate.judge(candidate(pipelines["seed 7"]), champion, force=True).promote


def test_the_code_is_the_commit_of_the_folder_and_whether_it_changed(tmp_path):
    from housing import track
    assert track.code_identity(tmp_path) == {"git_commit": "none", "git_dirty": "none"}
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    (tmp_path / "a").write_text("1")
    for args in (["init", "-q"], ["add", "a"], ["commit", "-qm", "a"]):
        subprocess.run(git + args, check=True)
    commit = subprocess.run(git + ["log", "--format=%H"], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert track.code_identity(tmp_path) == {"git_commit": commit, "git_dirty": "False"}
    (tmp_path / "a").write_text("2")
    assert track.code_identity(tmp_path) == {"git_commit": commit, "git_dirty": "True"}


def load_split_rows(paths, rows=20):
    return store.load_split(paths["data"]).arrays["X_test"][:rows]


def predicted(model_path, X):
    """What housing predict prints for the rows X, as floats."""
    text = "MedInc,HouseAge,AveRooms,AveBedrms,Population,AveOccup,Latitude,Longitude\n" + "".join(
        ",".join(map(repr, row)) + "\n" for row in X.tolist())
    run = subprocess.run([sys.executable, "-m", "housing", "predict", "--model", str(model_path)],
                         input=text, capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    return [float(line) for line in run.stdout.split()]


def serve_champion(folder, uri=None):
    """housing serve of the registry's champion, from .venv-track in ``folder`` (the
    store's home): (address, process)."""
    port = free_port()
    log = folder / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([TRACK, "-m", "housing", "serve", "--port", str(port),
                                 "--workers", "1", "--model",
                                 "quantized=models:/housing-quantized@champion", "--default",
                                 "quantized"], cwd=folder, env=environment(uri), stdout=out,
                                stderr=subprocess.STDOUT)
    proc.out = proc.err = open(log)
    wait_answering(f"http://127.0.0.1:{port}/v2/health/ready", proc, log, seconds=60)
    return (f"127.0.0.1:{port}", proc)


STATE = """
import json, sys
from mlflow.tracking import MlflowClient
client = MlflowClient(sys.argv[1])
experiment = client.get_experiment_by_name("housing")
runs = client.search_runs([experiment.experiment_id])
state = {"runs": {r.info.run_id: {"gate": r.data.tags.get("gate"), "params": r.data.params,
                                  "metrics": r.data.metrics, "tags": r.data.tags,
                                  "artifacts": sorted(a.path for a in
                                                      client.list_artifacts(r.info.run_id))}
                  for r in runs}}
for kind in ("float", "quantized"):
    name = "housing-" + kind
    versions = client.search_model_versions(f"name = '{name}'")
    champion = client.get_registered_model(name).aliases.get("champion") if versions else None
    state[kind] = {"champion": None if champion is None else int(champion),
                   "versions": {str(v.version): {"tags": v.tags, "source": v.source,
                                                 "run_id": v.run_id} for v in versions}}
print(json.dumps(state))
"""


def environment(uri):
    """This environment with MLFLOW_TRACKING_URI ``uri``, or without it (the project's
    SQLite store)."""
    env = plain_env()
    env.pop("MLFLOW_TRACKING_URI", None)
    return dict(env, MLFLOW_TRACKING_URI=uri) if uri else env


def housing(folder, *argv, uri=None):
    """``python -m housing ARGV`` in .venv-track, in ``folder`` (the store's home)."""
    return subprocess.run([TRACK, "-m", "housing", *argv], cwd=folder, env=environment(uri),
                          capture_output=True, text=True, timeout=300)


def track(folder, paths, *extra, uri=None):
    return housing(folder, "track", "--data", str(paths["data"]), "--float",
                   str(paths["float"]), "--quantized", str(paths["quantized"]), "--metrics",
                   str(paths["metrics"]), *extra, uri=uri)


def state(folder, uri=None):
    run = subprocess.run([TRACK, "-c", STATE, uri or f"sqlite:///{folder / 'mlruns.db'}"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@needs_mlflow
def test_runs_the_champion_the_gate_and_a_rollback_in_mlflow_s_store(pipelines, tmp_path):
    base = pipelines["base"]
    first = track(tmp_path, base)
    assert first.returncode == 0, first.stderr
    models = {kind: store.load_model(base[kind]) for kind in ("float", "quantized")}
    name = f"{models['quantized'].quantization.method}-8-bit-seed-42"
    r2 = load_metrics(base["metrics"])["quantized"]["r2"]
    assert (first.stdout, first.stderr) == ((
        f"track: run {name} -> mlruns.db\n"
        f"gate: no champion yet; the candidate's test R² {r2:.4f}\n"
        "gate: champion -> housing-quantized version 1, housing-float version 1\n"), "")
    recorded = state(tmp_path)
    (run_id, run), = recorded["runs"].items()
    assert run["params"] == {"seed": "42", "test_size": "0.2", "bits": "8", "method": "auto",
                             "auto_pick": models["quantized"].quantization.method}
    assert run["metrics"]["quantized_r2"] == r2 and run["metrics"]["float_payload_bytes"] == 72
    assert run["tags"]["quantized_sha256"] == models["quantized"].sha256
    assert run["tags"]["data_sha256"] == models["float"].lineage.data_sha256
    assert (run["tags"]["git_commit"], run["tags"]["git_dirty"]) == ("none", "none")  # no checkout
    assert run["artifacts"] == ["metrics.json", "mlflow", "models"]
    assert recorded["quantized"]["champion"] == recorded["float"]["champion"] == 1
    assert recorded["quantized"]["versions"]["1"]["tags"]["promoted_how"] == "gate"

    again = track(tmp_path, base)
    assert (again.returncode, again.stdout) == (0, (
        f"track: run {name} already records these models\n"
        "gate: the candidate is the champion (housing-quantized version 1); nothing to change\n"))
    assert state(tmp_path)["runs"].keys() == {run_id}

    two_bits = track(tmp_path, pipelines["two bits"])
    assert two_bits.returncode == 1
    assert two_bits.stderr.splitlines()[-1].startswith(
        "housing track: refused: its quantized model's test R² ")
    seed_7 = track(tmp_path, pipelines["seed 7"])
    assert seed_7.returncode == 1
    assert seed_7.stderr.splitlines()[-1].startswith("housing track: refused: not a fair "
                                                     "comparison: ")
    recorded = state(tmp_path)
    assert len(recorded["runs"]) == 3  # each candidate recorded, refused ones too
    assert recorded["quantized"]["champion"] == 1
    assert list(recorded["quantized"]["versions"]) == ["1"]

    forced = track(tmp_path, pipelines["seed 7"], "--force", "--reason", "a new split policy")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.splitlines()[-1] == ("gate: champion -> housing-quantized version 2, "
                                              "housing-float version 2 (forced: a new split "
                                              "policy)")
    version = state(tmp_path)["quantized"]["versions"]["2"]
    assert version["tags"]["promoted_how"] == "forced: a new split policy"
    assert version["tags"]["promoted_by"] and version["tags"]["promoted_at"]

    back = housing(tmp_path, "promote", "--version", "1", "--reason", "seed 42 serves")
    assert (back.returncode, back.stdout) == (0, (
        "promote: champion -> housing-quantized version 1, housing-float version 1 (was "
        "housing-quantized version 2)\n"))
    recorded = state(tmp_path)
    assert recorded["quantized"]["champion"] == recorded["float"]["champion"] == 1
    assert recorded["quantized"]["versions"]["1"]["tags"]["promoted_how"] == (
        "rollback: seed 42 serves")
    assert housing(tmp_path, "promote", "--version", "9", "--reason", "x").stderr == (
        "housing promote: error: housing-quantized has no version 9; it has 1, 2\n")

    # the champion served from the registry answers as housing predict does on its file
    X = load_split_rows(base)
    served = serve_champion(tmp_path)
    try:
        status, metadata, _ = call(served, "GET", "/v2/models/quantized")
        assert metadata["parameters"]["registry"] == {"name": "housing-quantized", "version": "1"}
        assert metadata["versions"] == [models["quantized"].version]
        status, answer, _ = call(served, "POST", "/v2/models/quantized/infer",
                                 {"inputs": [{"name": "features", "shape": list(X.shape),
                                              "datatype": "FP64", "data": X.tolist()}]})
    finally:
        stop(served[1])
    assert answer["outputs"][0]["data"] == predicted(base["quantized"], X)

    # what make docker MODEL=... bakes: the champion's run, each file as it recorded it
    fetched = housing(tmp_path, "fetch", "models:/housing-quantized@champion", "--out", "baked")
    assert fetched.returncode == 0, fetched.stderr
    for name, original in (("models/float.npz", base["float"]),
                           ("models/quantized.npz", base["quantized"]),
                           ("metrics.json", base["metrics"])):
        assert (tmp_path / "baked" / name).read_bytes() == Path(original).read_bytes()

    # a champion whose file changed in the store since it was registered is refused
    source = recorded["quantized"]["versions"]["1"]["source"]
    stored = Path(source.removeprefix("file://")) / "model.npz"
    stored.write_bytes(Path(pipelines["two bits"]["quantized"]).read_bytes())
    tampered = track(tmp_path, pipelines["worse"])
    assert tampered.returncode == 2
    assert re.fullmatch(r"housing track: error: housing-quantized version 1: the downloaded "
                        r"file's sha256 is [0-9a-f]{12}\.\.\., not the [0-9a-f]{12}\.\.\. it "
                        r"was registered with; refusing it\n", tampered.stderr)
    assert state(tmp_path)["quantized"]["champion"] == 1
    run_file = Path(source.removeprefix("file://")).parent.parent / "models" / "quantized.npz"
    run_file.write_bytes(Path(pipelines["two bits"]["quantized"]).read_bytes())
    refused = housing(tmp_path, "fetch", "models:/housing-quantized/1", "--out", "baked")
    assert refused.returncode == 2 and re.fullmatch(
        r"housing fetch: error: models:/housing-quantized/1: the run's quantized model file "
        r"has sha256 [0-9a-f]{12}\.\.\., not the [0-9a-f]{12}\.\.\. it recorded; refusing "
        r"it\n", refused.stderr)
    refused = housing(tmp_path, "serve", "--model", "quantized=models:/housing-quantized/1",
                      "--default", "quantized")
    assert refused.returncode == 2 and refused.stderr.startswith(
        "housing serve: error: housing-quantized version 1: the downloaded file's sha256 is ")


def test_track_without_mlflow_names_the_extra(pipelines):
    run = subprocess.run([sys.executable, "-m", "housing", "track", "--data",
                          str(pipelines["base"]["data"]), "--float",
                          str(pipelines["base"]["float"]), "--quantized",
                          str(pipelines["base"]["quantized"]), "--metrics",
                          str(pipelines["base"]["metrics"])], cwd=ROOT,
                         env=dict(plain_env(), PYTHONPATH=str(ROOT)), capture_output=True,
                         text=True)
    assert (run.returncode, run.stderr) == (2, "housing track: error: housing track needs "
                                               "MLflow, which the track extra installs: pip "
                                               "install 'housing[track]'\n")


PG_BIN = Path("/usr/lib/postgresql/15/bin")
ENGINES = ROOT / ".venv-engines" / "bin"  # the full mlflow: its server, with psycopg2
HAS_SERVER = (ENGINES / "mlflow").exists() and subprocess.run(
    [ENGINES / "python", "-c", "import psycopg2, mlflow.server"],
    capture_output=True).returncode == 0


@pytest.fixture
def postgres():
    """A PostgreSQL server of its own on a free port, in a temporary folder, run as the
    postgres user; the URI of its database ``mlflow``. Stopped at the end."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 is not installed: apt-get install postgresql")
    folder = Path(tempfile.mkdtemp(prefix="housing-pg-"))  # pytest's folders are root's alone
    shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    as_postgres = {"user": "postgres", "cwd": folder, "capture_output": True, "text": True,
                   "timeout": 120}
    init = subprocess.run([PG_BIN / "initdb", "-D", folder / "data", "-A", "trust", "-U",
                           "postgres"], **as_postgres)
    assert init.returncode == 0, init.stderr
    start = subprocess.run([PG_BIN / "pg_ctl", "-D", folder / "data", "-l", folder / "log",
                            "-w", "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1",
                            "start"], **as_postgres)
    assert start.returncode == 0, start.stderr + (folder / "log").read_text()
    try:
        made = subprocess.run([PG_BIN / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U",
                               "postgres", "mlflow"], **as_postgres)
        assert made.returncode == 0, made.stderr
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/mlflow"
    finally:
        subprocess.run([PG_BIN / "pg_ctl", "-D", folder / "data", "-m", "fast", "-w", "stop"],
                       **as_postgres)
        shutil.rmtree(folder)


@pytest.fixture
def tracking_server(postgres, tmp_path):
    """`mlflow server` on a free port, its runs and registry in PostgreSQL, its artifacts
    served from a temporary folder; its URI. Stopped at the end."""
    if not HAS_SERVER:
        pytest.skip("MLflow's server is not installed: make engines")
    port = free_port()
    log = tmp_path / "mlflow-server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([ENGINES / "mlflow", "server", "--backend-store-uri", postgres,
                                 "--artifacts-destination", (tmp_path / "served").as_uri(),
                                 "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                                cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                                env=plain_env(), start_new_session=True)
    try:
        wait_answering(f"http://127.0.0.1:{port}/health", proc, log, seconds=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the workers it started
        proc.wait(timeout=30)


@needs_mlflow
def test_a_team_s_tracking_server_on_postgresql(pipelines, tracking_server, tmp_path):
    uri = tracking_server
    first = track(tmp_path, pipelines["base"], uri=uri)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0].endswith(f" -> {uri}")
    assert first.stdout.splitlines()[-1] == ("gate: champion -> housing-quantized version 1, "
                                             "housing-float version 1")
    again = track(tmp_path, pipelines["base"], uri=uri)
    assert again.stdout.splitlines()[-1] == ("gate: the candidate is the champion "
                                             "(housing-quantized version 1); nothing to change")
    assert len(state(tmp_path, uri)["runs"]) == 1
    worse = track(tmp_path, pipelines["worse"], uri=uri)
    assert worse.returncode == 1
    assert worse.stderr.splitlines()[-1].startswith("housing track: refused: the candidate's R² "
                                                    "is ")
    assert state(tmp_path, uri)["quantized"]["champion"] == 1

    forced = track(tmp_path, pipelines["seed 7"], "--force", "--reason", "new split", uri=uri)
    assert forced.returncode == 0, forced.stderr
    back = housing(tmp_path, "promote", "--version", "1", "--reason", "seed 42 serves", uri=uri)
    assert back.returncode == 0, back.stderr
    recorded = state(tmp_path, uri)
    assert recorded["quantized"]["champion"] == recorded["float"]["champion"] == 1
    assert recorded["quantized"]["versions"]["2"]["tags"]["promoted_how"] == "forced: new split"
    assert recorded["quantized"]["versions"]["1"]["tags"]["promoted_how"] == (
        "rollback: seed 42 serves")

    X = load_split_rows(pipelines["base"])
    served = serve_champion(tmp_path, uri)
    try:
        status, answer, _ = call(served, "POST", "/v2/models/quantized/infer",
                                 {"inputs": [{"name": "features", "shape": list(X.shape),
                                              "datatype": "FP64", "data": X.tolist()}]})
    finally:
        stop(served[1])
    assert status == 200
    assert answer["outputs"][0]["data"] == predicted(pipelines["base"]["quantized"], X)

    run_id = recorded["quantized"]["versions"]["1"]["run_id"]
    stored, = (tmp_path / "served").rglob(f"{run_id}/artifacts/mlflow/quantized/model.npz")
    stored.write_bytes(Path(pipelines["worse"]["quantized"]).read_bytes())
    refused = housing(tmp_path, "serve", "--model", "quantized=models:/housing-quantized@champion",
                      "--default", "quantized", uri=uri)
    assert refused.returncode == 2 and refused.stderr.startswith(
        "housing serve: error: housing-quantized version 1: the downloaded file's sha256 is ")
    assert not (tmp_path / "mlruns.db").exists()  # everything went to the server
