"""Stage 4: both models on the test split, a quantization sweep, and the README's tables.

    python -m housing report            # evaluate -> artifacts/metrics.json, then render
    python -m housing report --render   # README tables and figure from metrics.json
    python -m housing report --check    # exit 1 if README or figure differ from metrics.json

Rendering reads only metrics.json, so the README's tables are always what the pipeline
measured, and ``--check`` needs no numpy. README.md is rewritten only between the marker
comments, and only when the text changes.
"""
import json
import os
import sys

from .cli import Parser, UserError, atomic_write, command, display
from .config import (FIGURE, FLOAT_MODEL, METHODS, METRICS, QUANTIZED_MODEL, README, ROOT,
                     SPLIT, SWEEP_BITS, SYMMETRIC)

DIGITS = 8  # decimals kept in metrics.json: far below any difference that matters
RESAMPLES = 200  # bootstrap draws of the test rows for the noise of an R² change


def _round(x):
    return round(float(x), DIGITS)


def scores(y, pred, reference):
    """R², MSE and MAE of ``pred`` against ``y``, and its largest absolute difference from
    ``reference`` (the float model's predictions); all of shape (n_samples,), $100,000."""
    import numpy as np
    err = pred - y
    mse = float(np.mean(err ** 2))
    return {"r2": _round(1 - mse / np.var(y)), "mse": _round(mse),
            "mae": _round(np.mean(np.abs(err))),
            "max_abs_diff_vs_float": _round(np.max(np.abs(pred - reference)))}


class Bootstrap:
    """Paired bootstrap of the test rows, drawn once: the standard error of a change in
    R² from the reference predictions, i.e. how much the change would move on another
    draw of test rows.

    y, reference : ndarray of shape (n_samples,)
    """

    def __init__(self, y, reference, seed=0):
        import numpy as np
        self.idx = np.random.default_rng(seed).integers(0, len(y), (RESAMPLES, len(y)))
        self.y = y[self.idx]
        self.var = self.y.var(axis=1)
        self.ref_mse = np.mean((self.y - reference[self.idx]) ** 2, axis=1)

    def r2_change_se(self, pred):
        import numpy as np
        mse = np.mean((self.y - pred[self.idx]) ** 2, axis=1)
        return float(((self.ref_mse - mse) / self.var).std())


def sweep(coef, intercept, split, reference):
    """Every method at every width of SWEEP_BITS, scored on both splits against
    ``reference``, the float model's test predictions; the noise of the R² change is
    measured for the method ``auto`` picks."""
    import numpy as np
    from . import model as m
    from .quantize import choose, quantize_all
    X, y, Xt, yt = split["X_train"], split["y_train"], split["X_test"], split["y_test"]
    bootstrap = Bootstrap(yt, reference)
    rows = []
    for bits in SWEEP_BITS:
        results = quantize_all(coef, intercept, X, y, bits)
        picked = choose(results, coef, intercept, X).method
        for method, q in results.items():
            w, b = m.dequantize(q)
            pred = Xt @ w + b
            test = scores(yt, pred, reference)
            row = {"method": method, "bits": bits, "auto": method == picked,
                   "r2_test": test["r2"], "mse_test": test["mse"],
                   "r2_train": _round(1 - np.mean((X @ w + b - y) ** 2) / np.var(y)),
                   "max_abs_diff_vs_float": test["max_abs_diff_vs_float"],
                   "payload_bytes": len(m.encode(q))}
            if method == picked:
                row["r2_change_se"] = _round(bootstrap.r2_change_se(pred))
            rows.append(row)
    return rows


def evaluate(split_path, float_path, quantized_path):
    """The contents of metrics.json."""
    from . import store
    from .model import predict
    meta, split = store.load_split(split_path)
    models = {"float": store.load_model(float_path, kind="float"),
              "quantized": store.load_model(quantized_path, kind="quantized")}
    paths = {"float": float_path, "quantized": quantized_path}
    X, y = split["X_test"], split["y_test"]
    reference = predict(models["float"], X)
    out = {"split": {k: meta[k] for k in ("data_sha256", "seed", "test_size")}}
    out["split"].update(train_rows=len(split["y_train"]), test_rows=len(y))
    for name, model in models.items():
        store.check_lineage(model, meta, paths[name], split_path)
        out[name] = dict(scores(y, predict(model, X), reference),
                         path=os.path.relpath(os.path.abspath(paths[name]), ROOT),
                         file_bytes=os.path.getsize(paths[name]),
                         payload_bytes=model.payload_bytes,
                         bits=model.meta.get("bits", 64),
                         method=model.meta.get("method", "least squares"),
                         auto=model.meta.get("auto", False),
                         data_sha256=model.meta["data_sha256"])
    out["sweep"] = sweep(models["float"].coef, models["float"].intercept, split, reference)
    return out


# --- rendering: metrics.json -> markdown and SVG, no numpy -------------------------

def metrics_table(mx):
    f, q = mx["float"], mx["quantized"]
    rows = [
        ("R² (test)", f"{f['r2']:.4f}", f"{q['r2']:.4f}"),
        ("MSE (test)", f"{f['mse']:.4f}", f"{q['mse']:.4f}"),
        ("MAE (test)", f"{f['mae']:.4f}", f"{q['mae']:.4f}"),
        ("Largest prediction difference from float (test)", "0",
         f"{q['max_abs_diff_vs_float']:.4f}"),
        ("File size", f"{f['file_bytes']} B", f"{q['file_bytes']} B"),
        ("Payload (parameters alone)", f"{f['payload_bytes']} B", f"{q['payload_bytes']} B"),
        ("Parameters stored", "8 coefficients + intercept, float64",
         f"8 × {q['bits']}-bit codes, shared float32 scale, "
         + ("8 int8 exponents" if q["method"] in SYMMETRIC else "zero point")
         + ", float32 intercept"),
        ("Inference precision", "float64",
         f"{q['bits']}-bit parameters, dequantized to float64 at load"),
        ("Method", "least squares", f"{q['method']} (picked by `auto` on the training split)"
         if q["auto"] else q["method"]),
        ("Primary use case", "reference accuracy", "resource-constrained inference"),
        ("File", f"`{f['path']}`", f"`{q['path']}`"),
    ]
    s = mx["split"]
    lines = [f"Test split: {s['test_rows']:,} rows (seed {s['seed']}, test share "
             f"{s['test_size']}), data set sha256 `{s['data_sha256'][:12]}…`.", "",
             "| Metric | Float model | Quantized model |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def sweep_table(mx):
    by = {(r["method"], r["bits"]): r for r in mx["sweep"]}
    bits = sorted({r["bits"] for r in mx["sweep"]})
    lines = ["Test R² (payload bytes) of each method at each width; **bold**: the method "
             "`auto` picks, from the training split alone. Last column: how far `auto`'s "
             "pick moves test R² from the float model's, ± its standard error over "
             f"{RESAMPLES} bootstrap draws of the test rows; a change within two standard "
             "errors of zero is noise, which another draw of test rows could reverse.", "",
             "| bits | " + " | ".join(METHODS) + " | auto − float |",
             "|---" * (len(METHODS) + 2) + "|"]
    for b in bits:
        cells = []
        for method in METHODS:
            r = by[(method, b)]
            cell = f"{r['r2_test']:.4f} ({r['payload_bytes']} B)"
            cells.append(f"**{cell}**" if r["auto"] else cell)
        pick = next(by[(method, b)] for method in METHODS if by[(method, b)]["auto"])
        change = pick["r2_test"] - mx["float"]["r2"]
        cells.append(f"{change:+.4f} ± {pick['r2_change_se']:.4f}")
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


COLORS = {"minmax": "#d62728", "bias-corrected": "#ff7f0e",
          "standardized": "#1f77b4", "error-compensating": "#2ca02c"}


def figure(mx, lo=0.50, hi=0.60):
    """Test R² against bits, one line per method, as a small deterministic SVG. Values
    below ``lo`` are drawn on the bottom edge (min-max at low widths reaches -1000)."""
    W, H, L, R, T, B = 660, 360, 60, 180, 20, 40
    bits = sorted({r["bits"] for r in mx["sweep"]})
    x = {b: L + i * (W - L - R) / (len(bits) - 1) for i, b in enumerate(bits)}

    def y(r2):
        return T + (hi - min(max(r2, lo), hi)) / (hi - lo) * (H - T - B)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>']
    for i in range(6):
        v = lo + i * (hi - lo) / 5
        out.append(f'<line x1="{L}" y1="{y(v):.1f}" x2="{W - R}" y2="{y(v):.1f}" '
                   f'stroke="#ddd"/><text x="{L - 6}" y="{y(v) + 4:.1f}" '
                   f'text-anchor="end">{v:.2f}</text>')
    for b in bits:
        out.append(f'<text x="{x[b]:.1f}" y="{H - B + 16}" text-anchor="middle">{b}</text>')
    out.append(f'<text x="{(L + W - R) / 2:.1f}" y="{H - 6}" text-anchor="middle">'
               f'bits per coefficient</text>')
    out.append(f'<text x="14" y="{(T + H - B) / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 14 {(T + H - B) / 2:.1f})">test R²</text>')
    f = mx["float"]["r2"]
    out.append(f'<line x1="{L}" y1="{y(f):.1f}" x2="{W - R}" y2="{y(f):.1f}" stroke="black" '
               f'stroke-dasharray="4 3"/>')
    legend = [("float", "black")] + [(m_, COLORS[m_]) for m_ in METHODS]
    for method in METHODS:
        pts = [(x[r["bits"]], y(r["r2_test"])) for r in mx["sweep"] if r["method"] == method]
        path = " ".join(f"{a:.1f},{b:.1f}" for a, b in sorted(pts))
        out.append(f'<polyline points="{path}" fill="none" stroke="{COLORS[method]}" '
                   f'stroke-width="2"/>')
        out += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{COLORS[method]}"/>'
                for a, b in sorted(pts)]
    for i, (name, color) in enumerate(legend):
        ly = T + 10 + 18 * i
        out.append(f'<line x1="{W - R + 12}" y1="{ly}" x2="{W - R + 32}" y2="{ly}" '
                   f'stroke="{color}" stroke-width="2"/><text x="{W - R + 38}" y="{ly + 4}">'
                   f'{name}</text>')
    out.append(f'<text x="{W - R + 12}" y="{T + 10 + 18 * len(legend) + 10}" font-size="10">'
               f'below {lo:.2f}: on the edge</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def splice(text, name, block):
    """``text`` with the part between the ``name`` markers replaced by ``block``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise UserError(f"README.md: expected one '{begin}' followed by one '{end}'")
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    return f"{head}{begin}\n{block}\n{end}{tail}"


def rendered(mx, readme_text):
    """(new README text, figure text) for the metrics ``mx``."""
    text = splice(readme_text, "metrics", metrics_table(mx))
    return splice(text, "sweep", sweep_table(mx)), figure(mx)


def _read(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise UserError(f"{display(path)}: no such file; expected {what}") from None


def load_metrics(path):
    text = _read(path, "metrics written by `housing report` (run `make report`)")
    try:
        mx = json.loads(text)
        for key in ("split", "float", "quantized", "sweep"):
            mx[key]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise UserError(f"{display(path)}: not metrics written by `housing report` ({e}); "
                        f"run `make report`") from None
    return mx


def _parser():
    p = Parser(prog="housing report", description=__doc__.splitlines()[0])
    p.add_argument("--data", default=SPLIT, help="the split")
    p.add_argument("--float", dest="float_model", default=FLOAT_MODEL, help="the float model")
    p.add_argument("--quantized", default=QUANTIZED_MODEL, help="the quantized model")
    p.add_argument("--metrics", default=METRICS, help="metrics JSON, written or read")
    p.add_argument("--readme", default=README, help="the README whose tables are generated")
    p.add_argument("--figure", default=FIGURE, help="R² against bits, SVG")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--render", action="store_true", help="only render from --metrics")
    mode.add_argument("--check", action="store_true",
                      help="exit 1 if the README or figure differ from --metrics")
    return p


@command("housing report")
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if not (args.render or args.check):
        mx = evaluate(args.data, args.float_model, args.quantized)
        atomic_write(args.metrics, (json.dumps(mx, indent=2, sort_keys=True) + "\n").encode())
        print(f"report: float R² {mx['float']['r2']:.4f}, quantized R² "
              f"{mx['quantized']['r2']:.4f} ({mx['quantized']['bits']} bits, "
              f"{mx['quantized']['method']}) -> {display(args.metrics)}")
    mx = load_metrics(args.metrics)
    readme = _read(args.readme, "the README")
    figure_path = args.figure
    new_readme, new_figure = rendered(mx, readme)
    old_figure = open(figure_path, encoding="utf-8").read() if os.path.exists(figure_path) else ""
    stale = [display(p) for p, old, new in ((args.readme, readme, new_readme),
                                            (figure_path, old_figure, new_figure)) if old != new]
    if args.check:
        if stale:
            print(f"housing report: {' and '.join(stale)} differ from {display(args.metrics)}; "
                  f"run `make report` and commit the result", file=sys.stderr)
            return 1
        print(f"report: README.md and figure match {display(args.metrics)}")
        return 0
    if new_readme != readme:
        atomic_write(args.readme, new_readme.encode())
    if new_figure != old_figure:
        atomic_write(figure_path, new_figure.encode())
    return 0
