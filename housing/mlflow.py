"""An MLflow model folder of a housing model: what mlflow.pyfunc.load_model, mlflow models
serve, the model registry and spark_udf take. MLflow is not needed to write it.

    python -m housing mlflow --model artifacts/models/quantized.npz --out artifacts/mlflow/quantized

The folder holds the MLmodel file (the python_function flavor, whose loader is
housing.pyfunc, and the signature: the features by name in, MedHouseVal out), the
model file, a copy of the housing package's Python code (so MLflow needs only numpy
beside it), and the requirements. Written whole, or not at all.
"""
import json
import platform
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

from . import store
from .cli import Parser, UserError, command, display, write_out
from .config import QUANTIZED_MODEL, TARGET

MODEL_FILE = "model.npz"


def signature(features):
    """The MLmodel signature: each feature a required column by name, the target a double
    out. The features' type is MLflow's "any": a "double" column refuses the int64
    columns pandas reads from integral text ("Can not safely convert int64 to float64"),
    so housing.pyfunc checks the values itself, as predict does."""
    inputs = [{"type": "any", "name": f, "required": True} for f in features]
    outputs = [{"type": "double", "name": TARGET, "required": True}]
    return json.dumps(inputs), json.dumps(outputs)


def yaml_quoted(text):
    """``text`` as a YAML single-quoted scalar, where a quote is written twice. (JSON's
    text is ASCII, so nothing else in it needs escaping.)"""
    return "'" + text.replace("'", "''") + "'"


def mlmodel(model):
    inputs, outputs = signature(model.features)
    return "\n".join([
        "artifact_path: null",
        "flavors:",
        "  python_function:",
        "    code: code",
        f"    data: {MODEL_FILE}",
        "    env:",
        "      virtualenv: python_env.yaml",
        "    loader_module: housing.pyfunc",
        f"    python_version: {platform.python_version()}",
        f"model_uuid: {model.version}",
        "signature:",
        f"  inputs: {yaml_quoted(inputs)}",
        f"  outputs: {yaml_quoted(outputs)}",
        "  params: null",
        ""])


def write(model_path, out):
    """The folder ``out`` for the model file ``model_path``."""
    model = store.load_model(model_path)
    data = Path(model_path).read_bytes()
    out = Path(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (staging / MODEL_FILE).write_bytes(data)
        (staging / "MLmodel").write_text(mlmodel(model))
        (staging / "requirements.txt").write_text(f"numpy=={np.__version__}\n")
        (staging / "python_env.yaml").write_text(
            f"python: {platform.python_version()}\nbuild_dependencies:\n- pip\n"
            f"dependencies:\n- -r requirements.txt\n")
        package = staging / "code" / "housing"
        for source in resources.files("housing").rglob("*.py"):
            target = package / Path(source).relative_to(Path(resources.files("housing")))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        shutil.rmtree(out, ignore_errors=True)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def parser():
    p = Parser(prog="housing mlflow", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=QUANTIZED_MODEL, help="a float or quantized model, .npz")
    p.add_argument("--out", required=True, help="the folder to write (replaced if it exists)")
    return p


@command("housing mlflow")
def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        write(args.model, args.out)
    except OSError as e:
        raise UserError(f"{display(args.out)}: cannot write the MLflow model "
                        f"({e.strerror})") from None
    write_out(f"mlflow: {display(args.model)} -> {display(args.out)}\n", "the summary")
    return 0
