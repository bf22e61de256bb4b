"""``python -m housing <stage> [options]``: run one stage; ``--help`` after it for its options.

Stages are imported on demand, so ``predict`` loads numpy and nothing heavier.
"""
import importlib
import sys

from . import __version__

STAGES = {
    "data": "load, check and split the data set (scikit-learn)",
    "train": "fit the float model on the training split",
    "quantize": "quantize the float model's parameters",
    "report": "evaluate both models and every method at every width: metrics.json",
    "predict": "predict rows (CSV, JSON, JSON Lines) with a float or quantized model",
    "info": "a model card: parameters, training ranges, lineage and test metrics",
    "serve": "serve the models over HTTP (Open Inference Protocol, MLflow scoring)",
    "export": "the quantized model as integer-only C (--c DIR)",
    "mlflow": "an MLflow model folder of a model (python_function flavor)",
    "sql": "the model as one SQL query, for SQLite, DuckDB, Spark, PostgreSQL, BigQuery, ...",
    "demo": "both models on the bundled sample rows, beside the truth",
}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--version"]:
        print(f"housing {__version__}")
        return 0
    if argv[:1] in (["-h"], ["--help"]):
        print("usage: housing <stage> [options]  (or python -m housing ...; --version)\n\nstages:\n" + "".join(
            f"  {name:<9} {text}\n" for name, text in STAGES.items()), end="")
        return 0
    if not argv or argv[0] not in STAGES:
        got = f"{argv[0]!r}" if argv else "nothing"
        print(f"housing: error: expected a stage ({', '.join(STAGES)}), got {got}; "
              f"see python -m housing --help", file=sys.stderr)
        return 2
    return importlib.import_module(f"housing.{argv[0]}").main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
