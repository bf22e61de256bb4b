"""Both models on the bundled sample rows, beside the truth: the image's smoke test.

    python -m housing demo [--metrics artifacts/metrics.json] [--sample artifacts/sample.csv]

Exits 1 when the two models disagree on a sample row by more than the largest difference
the report measured over the whole test split: the models in hand are not the ones the
report describes.
"""
import numpy as np

from . import store
from .cli import Parser, UserError, command, display
from .config import FEATURES, METRICS, ROOT, SAMPLE, TARGET
from .model import predict
from .readers import csvfile
from .readers.chunk import all_rows
from .results import load_metrics

SLACK = 1e-8  # metrics.json keeps 8 decimals, so its bound may be rounded down by 5e-9


def _parser():
    p = Parser(prog="housing demo", description=__doc__.splitlines()[0])
    p.add_argument("--metrics", default=METRICS, help="metrics written by `housing report`")
    p.add_argument("--sample", default=SAMPLE, help="CSV of features and MedHouseVal")
    return p


@command("housing demo")
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    metrics = load_metrics(args.metrics)
    models = {k: store.load_model(ROOT / metrics[k]["path"], kind=k)
              for k in ("float", "quantized")}
    try:
        with open(args.sample, "rb") as f:
            rows = all_rows(csvfile.read(f, FEATURES + (TARGET,), display(args.sample)).chunks)
    except FileNotFoundError:
        raise UserError(f"{display(args.sample)}: no such file; expected the sample rows") from None
    X = rows[:, :-1]
    truth = rows[:, -1]
    pf = predict(models["float"], X)
    pq = predict(models["quantized"], X)
    q = metrics["quantized"]
    print(f"{len(X)} test rows; predictions in $100,000. Quantized: {q['bits']} bits, "
          f"{q['method']}, {q['payload_bytes']} payload bytes.")
    print(f"{'float':>10} {'quantized':>10} {'true':>10} {'|diff|':>10}")
    for a, b, t in zip(pf, pq, truth):
        print(f"{a:10.4f} {b:10.4f} {t:10.4f} {abs(a - b):10.6f}")
    worst = float(np.max(np.abs(pf - pq)))
    bound = q["max_abs_diff_vs_float"]
    ok = worst <= bound + SLACK
    print(f"largest |float - quantized| here: {worst:.6f}; bound from "
          f"{display(args.metrics)}: {bound:.6f} -> {'ok' if ok else 'EXCEEDED'}")
    return 0 if ok else 1
