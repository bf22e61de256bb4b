"""Runs and the registry: the pipeline's models as one MLflow run, and the champion (the
model to serve) moved only through the gate (``housing.gate``).

    python -m housing track [--force --reason TEXT]
    python -m housing promote --version N --reason TEXT

``track`` logs the run: parameters, every score of metrics.json, the code's and the
data's identities as tags, both model files, metrics.json and both MLflow model folders;
a second ``track`` of the same model files finds that run and logs nothing new. Then the
gate judges the candidate against the champion. Passed, both models are registered as
versions of housing-float and housing-quantized, and the alias ``champion`` moves to them;
refused, one line says why and the registry is left as it was (exit status 1).
``promote`` moves the alias to another version: a rollback, recorded with who and why.

The store is MLFLOW_TRACKING_URI's (a team's tracking server), else an SQLite file in the
folder the command runs in (mlruns.db, the artifacts in mlartifacts/). MLflow is the track
extra's (pip install 'housing[track]': MLflow's client, mlflow-skinny, with what its SQLite
store needs); nothing else in housing imports it.
"""
import getpass
import hashlib
import logging
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import NamedTuple

from . import __version__, gate, store
from . import mlflow as mlflow_model
from .cli import Parser, UserError, command, display, requires, write_out
from .config import FLOAT_MODEL, METRICS, QUANTIZED_MODEL, ROOT, SPLIT
from .results import load_metrics

EXPERIMENT = "housing"
ALIAS = "champion"
KINDS = ("float", "quantized")
LOCAL_STORE = "mlruns.db"
LOCAL_ARTIFACTS = "mlartifacts"


def registered_name(kind):
    return f"housing-{kind}"


def store_uri():
    """The tracking store: MLFLOW_TRACKING_URI, else the SQLite file in the project."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{ROOT / LOCAL_STORE}"


def store_name():
    """The store as a message names it: the SQLite file's path, or the URI."""
    return os.environ.get("MLFLOW_TRACKING_URI") or display(ROOT / LOCAL_STORE)


def connect(prog):
    """An MLflow client of the store, and the experiment's id (created if missing)."""
    requires("mlflow", prog, "MLflow", "track")
    from mlflow.tracking import MlflowClient
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # not its notes on creating tables
    # MLflow's own line on stdout for each run on a server, which would interleave with ours
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    client = MlflowClient(tracking_uri=store_uri(), registry_uri=store_uri())
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is not None:
        return client, experiment.experiment_id
    location = None
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        location = (ROOT / LOCAL_ARTIFACTS).as_uri()
    return client, client.create_experiment(EXPERIMENT, artifact_location=location)


def code_identity(folder):
    """The git commit of ``folder`` and whether its tree is dirty; "none" outside a git
    checkout (an installed housing run elsewhere)."""
    def git(*args):
        run = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True)
        return run.stdout.strip() if run.returncode == 0 else None
    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": "none", "git_dirty": "none"}
    return {"git_commit": commit, "git_dirty": str(bool(git("status", "--porcelain")))}


def installed(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


class Record(NamedTuple):
    """What a run records besides its artifacts, each by name."""
    params: dict
    metrics: dict
    tags: dict


def run_record(models, split, metrics):
    """The Record of a run of these models."""
    quantized = models["quantized"].quantization
    lineage = split.lineage
    params = {"seed": lineage.seed, "test_size": lineage.test_size, "bits": quantized.bits,
              "method": "auto" if quantized.auto else quantized.method,
              "auto_pick": quantized.method if quantized.auto else "none"}
    scores = {}
    for part in ("float", "quantized", "integer"):
        for score in ("r2", "mse", "mae", "max_abs_diff_vs_float"):
            scores[f"{part}_{score}"] = metrics[part][score]
    for kind in KINDS:
        scores[f"{kind}_file_bytes"] = metrics[kind]["file_bytes"]
        scores[f"{kind}_payload_bytes"] = metrics[kind]["payload_bytes"]
    tags = dict(code_identity(ROOT), data_sha256=lineage.data_sha256, housing_version=__version__,
                python_version=platform.python_version(), numpy_version=installed("numpy"),
                scikit_learn_version=installed("scikit-learn"),
                float_sha256=models["float"].sha256,
                quantized_sha256=models["quantized"].sha256)
    return Record(params, scores, tags)


def find_run(client, experiment, models):
    """The run already logged for these two model files, or None."""
    runs = client.search_runs([experiment], filter_string=(
        f"tags.float_sha256 = '{models['float'].sha256}' and "
        f"tags.quantized_sha256 = '{models['quantized'].sha256}'"), max_results=1)
    return runs[0] if runs else None


def run_name(models, split):
    quantization = models["quantized"].quantization
    return f"{quantization.method}-{quantization.bits}-bit-seed-{split.lineage.seed}"


def log_run(client, experiment, paths, models, split, metrics):
    """A new run of the models, with its artifacts; its id."""
    from mlflow.entities import Metric, Param, RunTag
    record = run_record(models, split, metrics)
    run = client.create_run(experiment, run_name=run_name(models, split))
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    client.log_batch(run_id,
                     metrics=[Metric(k, float(v), now, 0) for k, v in record.metrics.items()],
                     params=[Param(k, str(v)) for k, v in record.params.items()],
                     tags=[RunTag(k, v) for k, v in record.tags.items()])
    for kind in KINDS:
        client.log_artifact(run_id, paths[kind], "models")
    client.log_artifact(run_id, paths["metrics"])
    with tempfile.TemporaryDirectory() as folder:
        for kind in KINDS:
            mlflow_model.write(paths[kind], Path(folder) / kind)
            client.log_artifacts(run_id, str(Path(folder) / kind), f"mlflow/{kind}")
    client.set_terminated(run_id)
    return run_id


def champion(client):
    """The quantized champion's model version, or None."""
    name = registered_name("quantized")
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        return None
    version = client.get_registered_model(name).aliases.get(ALIAS)
    return client.get_model_version(name, version) if version else None


def fetch(version, folder):
    """The model file of a registered version, downloaded into ``folder`` and checked
    against the sha256 the version was registered with."""
    from mlflow.artifacts import download_artifacts
    path = download_artifacts(artifact_uri=f"{version.source}/{mlflow_model.MODEL_FILE}",
                              dst_path=str(folder))
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if digest != version.tags.get("sha256"):
        raise UserError(f"{version.name} version {version.version}: the downloaded file's "
                        f"sha256 is {digest[:12]}..., not the {version.tags.get('sha256', '?')[:12]}"
                        f"... it was registered with; refusing it")
    return path


MODEL_URI = re.compile(r"models:/([A-Za-z0-9._-]+)(?:@([A-Za-z0-9_-]+)|/([0-9]+))")


class Registered(NamedTuple):
    """A registered version's model, fetched and checked: the Model, and its version."""
    model: object
    version: object


def load_registered(uri, prog):
    """The Registered of ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``: its file
    downloaded, checked against the sha256 it was registered with, and loaded."""
    client, version = resolve(uri, prog)
    with tempfile.TemporaryDirectory() as folder:
        return Registered(store.load_model(fetch(version, folder)), version)


def resolve(uri, prog):
    """(a client, the model version) that ``models:/NAME@ALIAS`` or
    ``models:/NAME/VERSION`` names."""
    match = MODEL_URI.fullmatch(uri)
    if not match:
        raise UserError(f"{uri}: expected models:/NAME@ALIAS or models:/NAME/VERSION, as "
                        f"models:/{registered_name('quantized')}@{ALIAS}")
    name, alias, number = match.groups()
    client, _ = connect(prog)
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        raise UserError(f"{uri}: no registered model {name!r} in {store_name()}")
    if alias is not None:
        number = client.get_registered_model(name).aliases.get(alias)
        if number is None:
            raise UserError(f"{uri}: {name} has no version with the alias {alias!r} in "
                            f"{store_name()}")
    numbers = {int(v.version) for v in client.search_model_versions(f"name = '{name}'")}
    if int(number) not in numbers:
        raise UserError(f"{uri}: {name} has no version {number}; it has "
                        f"{', '.join(map(str, sorted(numbers)))}")
    return client, client.get_model_version(name, str(number))


def versions_of_run(client, run_id):
    """kind -> the registered version of a run's models, for those registered."""
    found = {}
    for kind in KINDS:
        for version in client.search_model_versions(f"name = '{registered_name(kind)}'"):
            if version.run_id == run_id:
                found[kind] = version
    return found


def register(client, run_id, models, lineage):
    """kind -> the model version of each of the run's models, registered if not yet."""
    from mlflow.exceptions import MlflowException
    run = client.get_run(run_id)
    found = versions_of_run(client, run_id)
    for kind in KINDS:
        if kind in found:
            continue
        name = registered_name(kind)
        try:
            client.create_registered_model(name)
        except MlflowException as e:
            if e.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        found[kind] = client.create_model_version(
            name, f"{run.info.artifact_uri}/mlflow/{kind}", run_id,
            tags={"sha256": models[kind].sha256, "data_sha256": lineage.data_sha256,
                  "seed": str(lineage.seed), "test_size": str(lineage.test_size),
                  "git_commit": run.data.tags.get("git_commit", "none")})
    return found


def user():
    try:
        return getpass.getuser()
    except OSError:  # no name for this uid, as in some containers
        return f"uid {os.getuid()}"


def move_alias(client, versions, how):
    """Point ``champion`` at ``versions`` (kind -> model version), recording on each who
    moved it, when, and how (the gate, forced, or a rollback, with the reason)."""
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for kind, version in versions.items():
        client.set_registered_model_alias(version.name, ALIAS, version.version)
        for key, value in (("promoted_by", user()), ("promoted_at", when), ("promoted_how", how)):
            client.set_model_version_tag(version.name, version.version, key, value)


def parser():
    p = Parser(prog="housing track", description=__doc__.splitlines()[0])
    p.add_argument("--data", default=SPLIT, help="the split")
    p.add_argument("--float", dest="float_model", default=FLOAT_MODEL, help="the float model")
    p.add_argument("--quantized", default=QUANTIZED_MODEL, help="the quantized model")
    p.add_argument("--metrics", default=METRICS, help="what housing report measured")
    p.add_argument("--force", action="store_true",
                   help="promote a candidate the gate cannot compare fairly (recorded)")
    p.add_argument("--reason", default="", help="why, recorded with a forced promotion")
    return p



@command("housing track")
def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.force and not args.reason.strip():
        raise UserError("--force needs --reason: a forced promotion is recorded with why")
    paths = {"float": args.float_model, "quantized": args.quantized, "metrics": args.metrics}
    trained = store.load_trained(args.data, **{kind: paths[kind] for kind in KINDS})
    split = trained.split
    models = trained.models
    metrics = load_metrics(args.metrics)
    for kind in KINDS:
        if metrics[kind].get("payload_bytes") != models[kind].payload_bytes:
            raise UserError(f"{display(args.metrics)} does not describe {display(paths[kind])}; "
                            f"run `make all` (or housing report)")
    client, experiment = connect("housing track")
    run = find_run(client, experiment, models)
    if run is not None:
        run_id = run.info.run_id
        write_out(f"track: run {run.info.run_name} already records these models\n",
                  "the summary")
    else:
        run_id = log_run(client, experiment, paths, models, split, metrics)
        write_out(f"track: run {run_name(models, split)} -> {store_name()}\n", "the summary")
    current = champion(client)
    if current is not None and current.tags.get("sha256") == models["quantized"].sha256:
        write_out(f"gate: the candidate is the champion ({current.name} version "
                  f"{current.version}); nothing to change\n", "the gate")
        return 0
    with tempfile.TemporaryDirectory() as folder:
        held = store.load_model(fetch(current, folder)) if current is not None else None
    verdict = gate.judge(gate.Candidate(models["quantized"], split, metrics), held, args.force)
    lines = verdict.lines
    if not verdict.promote:
        client.set_tag(run_id, "gate", f"refused: {verdict.refusal}")
        write_out("".join(f"{line}\n" for line in lines), "the gate")
        print(f"housing track: refused: {verdict.refusal}", file=sys.stderr)
        return 1
    versions = register(client, run_id, models, split.lineage)
    forced = args.force and gate.unfair(gate.Candidate(models["quantized"], split, metrics), held)
    how = f"forced: {args.reason}" if forced else "gate"
    move_alias(client, versions, how)
    client.set_tag(run_id, "gate", "promoted" + (f" ({how})" if forced else ""))
    lines.append(f"gate: {ALIAS} -> {versions['quantized'].name} version "
                 f"{versions['quantized'].version}, {versions['float'].name} version "
                 f"{versions['float'].version}" + (f" ({how})" if forced else ""))
    write_out("".join(f"{line}\n" for line in lines), "the gate")
    return 0

