"""The README's tables and figure, from metrics.json alone: a tool of this repository
(make report and make report-check), not of the installed package.

    python tests/tools/render.py          # rewrite README.md's tables and the figure
    python tests/tools/render.py --check  # exit 1 if either differs from metrics.json

The standard library only (no numpy): what the README says is what the pipeline measured,
and checking that needs nothing but the JSON. README.md is rewritten only between the
marker comments, and a file only when its text changes.
"""
import os
import sys

from housing.cli import Parser, UserError, atomic_write, command, display
from housing.config import METRICS, ROOT
from housing.results import load_metrics, read_text

README = ROOT / "README.md"
FIGURE = ROOT / ".github" / "r2_vs_bits.svg"  # beside the workflow, so the README can show it

# one colour per method, in the order metrics.json lists them (matplotlib's first four)
PALETTE = ("#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b")


def methods(metrics):
    """The quantization methods of the sweep, in the order report.py wrote them."""
    return list(dict.fromkeys(row["method"] for row in metrics["sweep"]))


def metrics_table(metrics):
    f, q, n = metrics["float"], metrics["quantized"], metrics["split"]["n_features"]
    i = metrics["integer"]
    grid = f"{n} int8 exponents" if q["symmetric"] else "zero point"
    rows = [
        ("R² (test)", f"{f['r2']:.4f}", f"{q['r2']:.4f}", f"{i['r2']:.4f}"),
        ("MSE (test)", f"{f['mse']:.4f}", f"{q['mse']:.4f}", f"{i['mse']:.4f}"),
        ("MAE (test)", f"{f['mae']:.4f}", f"{q['mae']:.4f}", f"{i['mae']:.4f}"),
        ("Largest prediction difference from float (test)", "0",
         f"{q['max_abs_diff_vs_float']:.4f}", f"{i['max_abs_diff_vs_float']:.4f}"),
        ("File size", f"{f['file_bytes']} B", f"{q['file_bytes']} B", "the quantized file"),
        ("Payload (parameters alone)", f"{f['payload_bytes']} B", f"{q['payload_bytes']} B",
         "the quantized payload"),
        ("Parameters stored", f"{n} coefficients + intercept, float64",
         f"{n} × {q['bits']}-bit codes, shared float32 scale, {grid}, float32 intercept",
         f"the same codes{' and exponents' * q['symmetric']}; scale and intercept as "
         f"integers"),
        ("Inference precision", "float64",
         f"{q['bits']}-bit parameters, dequantized to float64 at load",
         f"int32 inputs, int64 sums, output × 2^{i['out_fraction_bits']}; no floating point"),
        ("Method", "least squares", f"{q['method']} (picked by `auto` on the training split)"
         if q["auto"] else q["method"], "the quantized model's"),
        ("Primary use case", "reference accuracy", "small payloads, numpy inference",
         "microcontrollers without an FPU, C without Python"),
        ("File", f"`{f['path']}`", f"`{q['path']}`", "`make export` writes C from it"),
    ]
    s = metrics["split"]
    lines = [f"Test split: {s['test_rows']:,} rows (seed {s['seed']}, test share "
             f"{s['test_size']}), data set sha256 `{s['data_sha256'][:12]}…`.", "",
             "| Metric | Float model | Quantized model | Integer kernel (quantized) |",
             "|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def sweep_table(metrics):
    names = methods(metrics)
    by = {(r["method"], r["bits"]): r for r in metrics["sweep"]}
    lines = ["Test R² (payload bytes) of each method at each width; **bold**: the method "
             "`auto` picks, from the training split alone. Last column: how far `auto`'s "
             "pick moves test R² from the float model's, ± its standard error over "
             f"{metrics['resamples']} bootstrap draws of the test rows; a change within two "
             "standard errors of zero is noise, which another draw of test rows could "
             "reverse.", "",
             "| bits | " + " | ".join(names) + " | auto − float |",
             "|---" * (len(names) + 2) + "|"]
    for bits in sorted({r["bits"] for r in metrics["sweep"]}):
        row = [by[(name, bits)] for name in names]
        cells = [f"{r['r2_test']:.4f} ({r['payload_bytes']} B)" for r in row]
        cells = [f"**{c}**" if r["auto"] else c for c, r in zip(cells, row)]
        pick = next(r for r in row if r["auto"])
        change = pick["r2_test"] - metrics["float"]["r2"]
        cells.append(f"{change:+.4f} ± {pick['r2_change_se']:.4f}")
        lines.append(f"| {bits} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# the figure's size and margins, in pixels
WIDTH, HEIGHT = 660, 360
LEFT, RIGHT, TOP, BOTTOM = 60, 180, 20, 40


def figure(metrics, lo=0.50, hi=0.60):
    """Test R² against bits, one line per method, as a small deterministic SVG. Values
    below ``lo`` are drawn on the bottom edge (min-max at low widths reaches -1000)."""
    bits = sorted({r["bits"] for r in metrics["sweep"]})
    plot_right, plot_bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    x = {b: LEFT + i * (plot_right - LEFT) / (len(bits) - 1) for i, b in enumerate(bits)}

    def y(r2):
        return TOP + (hi - min(max(r2, lo), hi)) / (hi - lo) * (plot_bottom - TOP)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>']
    for i in range(6):
        v = lo + i * (hi - lo) / 5
        out.append(f'<line x1="{LEFT}" y1="{y(v):.1f}" x2="{plot_right}" y2="{y(v):.1f}" '
                   f'stroke="#ddd"/><text x="{LEFT - 6}" y="{y(v) + 4:.1f}" '
                   f'text-anchor="end">{v:.2f}</text>')
    for b in bits:
        out.append(f'<text x="{x[b]:.1f}" y="{plot_bottom + 16}" text-anchor="middle">{b}</text>')
    out.append(f'<text x="{(LEFT + plot_right) / 2:.1f}" y="{HEIGHT - 6}" '
               f'text-anchor="middle">bits per coefficient</text>')
    mid = (TOP + plot_bottom) / 2
    out.append(f'<text x="14" y="{mid:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 14 {mid:.1f})">test R²</text>')
    f = metrics["float"]["r2"]
    out.append(f'<line x1="{LEFT}" y1="{y(f):.1f}" x2="{plot_right}" y2="{y(f):.1f}" '
               f'stroke="black" stroke-dasharray="4 3"/>')
    colors = dict(zip(methods(metrics), PALETTE))
    for method, color in colors.items():
        pts = sorted((x[r["bits"]], y(r["r2_test"])) for r in metrics["sweep"]
                     if r["method"] == method)
        path = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                   f'stroke-width="2"/>')
        out += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{color}"/>' for a, b in pts]
    legend = [("float", "black")] + list(colors.items())
    for i, (name, color) in enumerate(legend):
        ly = TOP + 10 + 18 * i
        out.append(f'<line x1="{plot_right + 12}" y1="{ly}" x2="{plot_right + 32}" y2="{ly}" '
                   f'stroke="{color}" stroke-width="2"/><text x="{plot_right + 38}" '
                   f'y="{ly + 4}">{name}</text>')
    out.append(f'<text x="{plot_right + 12}" y="{TOP + 10 + 18 * len(legend) + 10}" '
               f'font-size="10">below {lo:.2f}: on the edge</text>')
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


def rendered(metrics, readme_text):
    """(new README text, figure text) for the metrics ``metrics``."""
    text = splice(readme_text, "metrics", metrics_table(metrics))
    return splice(text, "sweep", sweep_table(metrics)), figure(metrics)


def first_difference(old, new):
    """(line number, old line, new line) of the first line where two texts differ."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    for no, (a, b) in enumerate(zip(old_lines + [""] * len(new_lines),
                                    new_lines + [""] * len(old_lines)), 1):
        if a != b:
            return no, a, b
    return len(old_lines) + 1, "", ""  # only line ends differ


def _parser():
    p = Parser(prog="render", description=__doc__.splitlines()[0])
    p.add_argument("--metrics", default=METRICS, help="metrics written by `housing report`")
    p.add_argument("--readme", default=README, help="the README whose tables are generated")
    p.add_argument("--figure", default=FIGURE, help="R² against bits, SVG")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if the README or figure differ from --metrics")
    return p


@command("render")
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    metrics = load_metrics(args.metrics)
    readme = read_text(args.readme, "the README")
    old_figure = read_text(args.figure, "the figure") if os.path.exists(args.figure) else ""
    files = zip((args.readme, args.figure), (readme, old_figure), rendered(metrics, readme))
    stale = [(path, old, new) for path, old, new in files if old != new]
    if args.check:
        for path, old, new in stale[:1]:
            no, was, now = first_difference(old, new)
            print(f"render: {display(path)}, line {no}, differs from "
                  f"{display(args.metrics)}: has {was!r}, the metrics give {now!r}; run "
                  f"`make report` and commit the result", file=sys.stderr)
            return 1
        print(f"render: {display(args.readme)} and {display(args.figure)} match "
              f"{display(args.metrics)}")
        return 0
    for path, _, new in stale:
        atomic_write(path, new.encode())
    written = " and ".join(display(path) for path, _, _ in stale) or "nothing (up to date)"
    print(f"render: {display(args.metrics)} -> {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
