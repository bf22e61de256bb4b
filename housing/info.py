"""A model card: what a model file holds, what it was trained on, and how it scored.

    python -m housing info artifacts/models/quantized.npz [--metrics artifacts/metrics.json]

The test metrics come from metrics.json beside the model's folder (or ``--metrics``) when
it describes this very file.
"""
import os

from . import store
from .cli import Parser, command, display, write_out
from .config import ROOT
from .results import load_metrics


def card(model, path, file_bytes, metrics=None):
    """The card's lines for a loaded ``model`` read from ``path``."""
    lineage = model.lineage
    if model.quantization is None:
        what = f"float model, {model.method} (scikit-learn's LinearRegression), float{model.bits}"
    else:
        what = (f"quantized model, {model.method}, {model.bits} bits"
                + (" (picked by auto on the training split)" if model.quantization.auto else ""))
    lines = [f"{display(path)}: {what}",
             f"  {file_bytes} bytes on disk, {model.payload_bytes} of them parameters",
             f"  trained on: data set sha256 {lineage.data_sha256}, split seed {lineage.seed}, "
             f"test share {lineage.test_size}",
             f"  intercept: {model.intercept!r} ($100,000)",
             "  " + " ".join(f"{h:>13}" for h in ("feature", "coefficient", "train min",
                                                   "0.1 %", "99.9 %", "train max"))]
    for j, name in enumerate(model.features):
        numbers = [model.coef[j]] + [getattr(model.ranges, k)[j]
                                     for k in ("min", "q001", "q999", "max")]
        lines.append(f"  {name:>13} " + " ".join(f"{x:>13.6g}" for x in numbers))
    if metrics:
        lines.append(f"  test split: R² {metrics['r2']:.4f}, MSE {metrics['mse']:.4f}, "
                     f"MAE {metrics['mae']:.4f}, largest difference from the float model "
                     f"{metrics['max_abs_diff_vs_float']:.4f}")
    return lines


def parser():
    p = Parser(prog="housing info", description=__doc__.splitlines()[0])
    p.add_argument("model", help="a float or quantized model, .npz")
    p.add_argument("--metrics", help="metrics.json (default: the one beside the model's folder)")
    return p


@command("housing info")
def main(argv=None) -> int:
    args = parser().parse_args(argv)
    model = store.load_model(args.model)
    path = args.metrics or os.path.join(os.path.dirname(os.path.abspath(args.model)), os.pardir,
                                        "metrics.json")
    metrics = None
    if args.metrics or os.path.exists(path):
        entry = load_metrics(path).get(model.kind, {})
        if os.path.abspath(ROOT / entry.get("path", "")) == os.path.abspath(args.model):
            metrics = entry
    write_out("\n".join(card(model, args.model, os.path.getsize(args.model), metrics)) + "\n",
              "the model card")
    return 0
