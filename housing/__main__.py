"""``python -m housing <stage> [options]``: run one stage; ``--help`` after it for its options.

Stages are imported on demand, so ``predict`` loads numpy and nothing heavier.
"""
import importlib
import sys

from . import __version__
from .cli import UserError, command, write_out

STAGES = {
    "data": "load, check and split the data set (scikit-learn)",
    "train": "fit the float model on the training split",
    "quantize": "quantize the float model's parameters",
    "report": "evaluate both models and every method at every width: metrics.json",
    "predict": "predict rows (CSV, JSON, JSON Lines) with a float or quantized model",
    "info": "a model card: parameters, training ranges, lineage and test metrics",
    "serve": "serve the models over HTTP (Open Inference Protocol, MLflow scoring)",
    "drift": "how far rows (a file, the request log) are from the training data, per feature",
    "export": "the quantized model as integer-only C (--c DIR)",
    "mlflow": "an MLflow model folder of a model (python_function flavor)",
    "sql": "the model as one SQL query, for SQLite, DuckDB, Spark, PostgreSQL, BigQuery, ...",
    "demo": "both models on the bundled sample rows, beside the truth",
    "track": "log the models as an MLflow run; promote them if the gate passes (MLflow)",
    "promote": "move the champion to another registered version: a rollback (MLflow)",
    "fetch": "a registered version's model files and metrics, checked, for an image (MLflow)",
}
# a stage's module, where it is not housing.<stage>
MODULES = {"serve": "housing.serving.server"}

USAGE = ("usage: housing <stage> [options]  (or python -m housing ...; --version)\n\n"
         "stages:\n" + "".join(f"  {name:<9} {text}\n" for name, text in STAGES.items()))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in STAGES:
        return importlib.import_module(MODULES.get(argv[0], f"housing.{argv[0]}")).main(argv[1:])
    return about(argv)


@command("housing")
def about(argv):
    """--version, --help, or what is wrong with the stage named."""
    if argv[:1] == ["--version"]:
        write_out(f"housing {__version__}\n", "the version")
        return 0
    if argv[:1] in (["-h"], ["--help"]):
        write_out(USAGE, "the help")
        return 0
    got = f"{argv[0]!r}" if argv else "nothing"
    raise UserError(f"expected a stage ({', '.join(STAGES)}), got {got}; see python -m "
                    f"housing --help")


if __name__ == "__main__":
    sys.exit(main())
