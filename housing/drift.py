"""Drift: how far rows (a file of them, or the server's request log) are from the data the
model was trained on, feature by feature.

    python -m housing drift --input rows.csv [--model artifacts/models/quantized.npz]
        [--data artifacts/data/split.npz] [--format auto|csv|json|jsonl] [--psi 0.2]
        [--json drift.json] [--skip-invalid]

For each feature: the population stability index over the bins of the training split's
deciles (the bins the server counts, and Prometheus's rules compute PSI from, by the same
formula), the two-sample Kolmogorov-Smirnov statistic against the training split's
values, the share of rows outside the training range, and the shift of the mean in
training standard deviations. Exit status 1 when a feature's PSI is above ``--psi``.
"""
import json
import math
import sys
from typing import NamedTuple

import numpy as np

from . import readers, store
from .cli import Parser, UserError, atomic_write, bounded, command, write_out
from .config import QUANTIZED_MODEL, SPLIT
from .model import BINS
from .predict import open_input

EXPECTED = 1 / BINS  # each bin's share of the training rows: the deciles cut them in tenths
FLOOR = 1e-4  # an empty bin's share counts as this, or its log would be -inf
PSI_THRESHOLD = 0.2  # the usual reading: under 0.1 stable, 0.1 to 0.2 moving, above 0.2 drift


def psi(bin_counts):
    """The population stability index of each feature, shape (n_features,), from its rows
    by bin, shape (n_features, BINS), against EXPECTED in each bin:
    sum over bins of (share - EXPECTED) * ln(share / EXPECTED), each share at least FLOOR.
    deploy/monitoring/rules.yml computes the same in PromQL."""
    counts = np.asarray(bin_counts, dtype=np.float64)
    share = np.maximum(counts / counts.sum(axis=1, keepdims=True), FLOOR)
    return ((share - EXPECTED) * np.log(share / EXPECTED)).sum(axis=1)


def ks_statistic(a, b):
    """The two-sample Kolmogorov-Smirnov statistic of samples ``a`` and ``b``: the largest
    distance between their empirical distribution functions, at every value of either."""
    a = np.sort(a)
    b = np.sort(b)
    every = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, every, side="right") / len(a)
    cdf_b = np.searchsorted(b, every, side="right") / len(b)
    return float(np.abs(cdf_a - cdf_b).max())


class Feature(NamedTuple):
    """What ``housing drift`` says of one feature."""
    name: str
    psi: float
    ks: float
    outside_share: float
    mean_shift_sd: float


class Report(NamedTuple):
    """Every feature's drift, over ``rows`` rows against ``training_rows``."""
    rows: int
    training_rows: int
    features: list
    threshold: float

    @property
    def drifted(self):
        return [f.name for f in self.features if f.psi > self.threshold]


def compare(ranges, features, X_train, X, threshold=PSI_THRESHOLD):
    """The Report of rows X, shape (n, n_features), against the training rows X_train and
    their model.Ranges; a feature has drifted when its PSI is above ``threshold``."""
    by_feature = psi(ranges.bin_counts(X))
    outside = ranges.outside(X).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = (X.mean(axis=0) - ranges.mean) / ranges.std
    return Report(len(X), len(X_train), [
        Feature(name, float(by_feature[j]), ks_statistic(X_train[:, j], X[:, j]),
                float(outside[j]), float(shift[j]))
        for j, name in enumerate(features)], threshold)


def read_rows(model, path, fmt, skip_invalid):
    """(every good row of the input, shape (n, n_features); the rows skipped)."""
    stream, source = open_input(path)
    blocks = []
    skipped = 0
    with stream:
        for chunk in readers.read(stream, model.features, source, fmt).chunks:
            if chunk.bad and not skip_invalid:
                raise UserError(chunk.bad[0].message)
            for row in chunk.bad:
                print(f"housing drift: skipped {row.message}", file=sys.stderr)
            skipped += len(chunk.bad)
            blocks.append(chunk.X)
    X = np.vstack(blocks) if blocks else np.empty((0, len(model.features)))
    if not len(X):
        raise UserError(f"{source}: no rows; expected rows of the features to compare")
    return X, skipped


def table(report):
    """The report as a terminal shows it: a line per feature, then the verdict."""
    lines = [f"{'feature':<12}{'PSI':>8}{'KS':>8}{'outside':>9}{'mean shift':>12}"]
    for f in report.features:
        lines.append(f"{f.name:<12}{f.psi:>8.4f}{f.ks:>8.4f}{f.outside_share:>9.2%}"
                     f"{f.mean_shift_sd:>+9.2f} sd")
    drifted = [f for f in report.features if f.name in report.drifted]
    verdict = ("; ".join(f"{f.name}'s PSI {f.psi:.4f} is above {report.threshold:g}"
                         for f in drifted)
               or f"no feature's PSI is above {report.threshold:g}")
    lines.append(f"drift: {report.rows:,} rows against the training split's "
                 f"{report.training_rows:,}: {verdict}")
    return "\n".join(lines) + "\n"


def as_json(report):
    """The report as a JSON object; a number JSON cannot hold (the shift of a feature
    that was constant in training) is null."""
    def number(x):
        return x if math.isfinite(x) else None
    return {"rows": report.rows, "training_rows": report.training_rows,
            "psi_threshold": report.threshold, "drifted": report.drifted,
            "features": {f.name: {"psi": number(f.psi), "ks": number(f.ks),
                                  "outside_share": number(f.outside_share),
                                  "mean_shift_sd": number(f.mean_shift_sd)}
                         for f in report.features}}


share = bounded(float, lambda x: x > 0, "a number above 0")


def parser():
    p = Parser(prog="housing drift", description=__doc__.splitlines()[0])
    p.add_argument("--input", required=True,
                   help="rows in any format predict reads, or the server's --log-inputs "
                        "file; - for stdin")
    p.add_argument("--model", default=QUANTIZED_MODEL, help="a float or quantized model, .npz")
    p.add_argument("--data", default=SPLIT, help="the split the model was trained on: its "
                                                 "training rows, for the KS statistic")
    p.add_argument("--format", choices=readers.CHOICES, default="auto",
                   help="auto (default): JSON if it starts with [ or {, else CSV")
    p.add_argument("--psi", type=share, default=PSI_THRESHOLD,
                   help=f"exit status 1 when a feature's PSI is above this ({PSI_THRESHOLD})")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    p.add_argument("--skip-invalid", action="store_true",
                   help="name bad rows on stderr and leave them out")
    return p


@command("housing drift")
def main(argv=None) -> int:
    args = parser().parse_args(argv)
    trained = store.load_trained(args.data, model=args.model)
    model = trained.models["model"]
    split = trained.split
    X, skipped = read_rows(model, args.input, args.format, args.skip_invalid)
    report = compare(model.ranges, model.features, split.arrays["X_train"], X, args.psi)
    if args.json:
        atomic_write(args.json, (json.dumps(as_json(report), indent=2) + "\n").encode())
    write_out(table(report), "the drift table")
    if skipped:
        print(f"housing drift: {skipped:,} row{'s' * (skipped > 1)} skipped", file=sys.stderr)
    return 1 if report.drifted else 0

