"""Both models on the bundled sample rows, beside the truth: the image's smoke test.

    python -m housing demo [--metrics artifacts/metrics.json] [--sample artifacts/sample.csv]
        [--data artifacts/data/split.npz]

The sample rows are the image's (made by `make docker`); where they are missing, as after
`make all` alone, the split's first test rows serve instead.

Exits 1 when the two models disagree on a sample row by more than the largest difference
the report measured over the whole test split: the models in hand are not the ones the
report describes.
"""
import numpy as np

from . import store
from .cli import Parser, UserError, command, display, write_out
from .config import FEATURES, METRICS, PARAMS, ROOT, SAMPLE, SPLIT, TARGET
from .model import predict
from .readers import csvfile
from .readers.chunk import all_rows
from .results import load_metrics

SLACK = 1e-8  # metrics.json keeps 8 decimals, so its bound may be rounded down by 5e-9


def parser():
    p = Parser(prog="housing demo", description=__doc__.splitlines()[0])
    p.add_argument("--metrics", default=METRICS, help="metrics written by `housing report`")
    p.add_argument("--sample", default=SAMPLE, help="CSV of features and MedHouseVal")
    p.add_argument("--data", default=SPLIT, help="the split, whose first test rows serve "
                                                 "where --sample is missing")
    return p


def sample_rows(sample, split_path):
    """(X, the true values) of the sample CSV, or of the split's first test rows where
    the CSV is missing and the split is not."""
    try:
        with open(sample, "rb") as f:
            rows = all_rows(csvfile.read(f, FEATURES + (TARGET,), display(sample)).chunks)
        return rows[:, :-1], rows[:, -1]
    except FileNotFoundError:
        try:
            split = store.load_split(split_path).arrays
        except UserError:
            raise UserError(f"{display(sample)}: no such file; expected the sample rows, or "
                            f"the split ({display(split_path)}) for its first test rows") from None
    n = PARAMS.sample_rows
    return split["X_test"][:n], split["y_test"][:n]


@command("housing demo")
def main(argv=None) -> int:
    args = parser().parse_args(argv)
    metrics = load_metrics(args.metrics)
    models = {k: store.load_model(ROOT / metrics[k]["path"], kind=k)
              for k in ("float", "quantized")}
    X, truth = sample_rows(args.sample, args.data)
    pf = predict(models["float"], X)
    pq = predict(models["quantized"], X)
    q = metrics["quantized"]
    worst = float(np.max(np.abs(pf - pq)))
    bound = q["max_abs_diff_vs_float"]
    ok = worst <= bound + SLACK
    lines = [f"{len(X)} test rows; predictions in $100,000. Quantized: {q['bits']} bits, "
             f"{q['method']}, {q['payload_bytes']} payload bytes.",
             f"{'float':>10} {'quantized':>10} {'true':>10} {'|diff|':>10}"]
    lines += [f"{a:10.4f} {b:10.4f} {t:10.4f} {abs(a - b):10.6f}"
              for a, b, t in zip(pf, pq, truth)]
    lines.append(f"largest |float - quantized| here: {worst:.6f}; bound from "
                 f"{display(args.metrics)}: {bound:.6f} -> {'ok' if ok else 'EXCEEDED'}")
    write_out("\n".join(lines) + "\n", "the demo")
    return 0 if ok else 1
