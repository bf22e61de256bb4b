"""render: README tables and figure from metrics.json, and a check that can fail."""
import json
import subprocess
import sys

import pytest

from tools import render
from housing.cli import UserError
from housing.config import ROOT

README = """# title

intro

<!-- metrics:begin -->
stale
<!-- metrics:end -->

middle

<!-- sweep:begin -->
<!-- sweep:end -->

end
"""
METHODS = ("plain", "clever")


def metrics():
    """A small metrics.json by hand: two methods at two widths."""
    sweep = [{"method": m, "bits": b, "auto": m == "clever", "r2_test": r2,
              "payload_bytes": b + 10, "r2_change_se": 0.0012}
             for b, pair in ((4, (0.1, 0.55)), (8, (0.52, 0.575))) for m, r2 in zip(METHODS, pair)]
    model = {"r2": 0.5758, "mse": 0.5559, "mae": 0.5332, "max_abs_diff_vs_float": 0.0071,
             "file_bytes": 601, "payload_bytes": 24, "bits": 8, "method": "clever",
             "symmetric": True, "auto": True, "path": "artifacts/models/quantized.npz"}
    return {"split": {"test_rows": 4128, "seed": 42, "test_size": 0.2, "n_features": 8,
                      "data_sha256": "f8ce03213e1c" + "0" * 52},
            "float": dict(model, max_abs_diff_vs_float=0, file_bytes=620, payload_bytes=72,
                          bits=64, method="least squares", auto=False,
                          path="artifacts/models/float.npz"),
            "quantized": model, "sweep": sweep, "resamples": 200,
            "integer": {"r2": 0.5757, "mse": 0.556, "mae": 0.5331,
                        "max_abs_diff_vs_float": 0.0072, "out_fraction_bits": 16}}


@pytest.fixture
def files(tmp_path):
    paths = {"metrics": tmp_path / "metrics.json", "readme": tmp_path / "README.md",
             "figure": tmp_path / "fig.svg"}
    paths["metrics"].write_text(json.dumps(metrics()))
    paths["readme"].write_text(README)
    return paths


def args(files, *extra):
    return [f"--{name}={path}" for name, path in files.items()] + list(extra)


def test_tables_by_hand():
    assert render.sweep_table(metrics()).splitlines()[2:] == [
        "| bits | plain | clever | auto − float |",
        "|---|---|---|---|",
        "| 4 | 0.1000 (14 B) | **0.5500 (14 B)** | -0.0258 ± 0.0012 |",
        "| 8 | 0.5200 (18 B) | **0.5750 (18 B)** | -0.0008 ± 0.0012 |",
    ]
    table = render.metrics_table(metrics()).splitlines()
    assert table[0] == ("Test split: 4,128 rows (seed 42, test share 0.2), data set sha256 "
                        "`f8ce03213e1c…`.")
    assert "| R² (test) | 0.5758 | 0.5758 | 0.5757 |" in table
    assert "| Largest prediction difference from float (test) | 0 | 0.0071 | 0.0072 |" in table
    assert ("| Parameters stored | 8 coefficients + intercept, float64 | 8 × 8-bit codes, "
            "shared float32 scale, 8 int8 exponents, float32 intercept | the same codes and "
            "exponents; scale and intercept as integers |") in table
    assert ("| Inference precision | float64 | 8-bit parameters, dequantized to float64 at load "
            "| int32 inputs, int64 sums, output × 2^16; no floating point |") in table
    assert ("| Method | least squares | clever (picked by `auto` on the training split) | the "
            "quantized model's |") in table


def test_readme_is_rewritten_between_markers_only_and_idempotently(files, capsys):
    assert render.main(args(files)) == 0
    assert capsys.readouterr().out == (f"render: {files['metrics']} -> {files['readme']} "
                                       f"and {files['figure']}\n")
    text = files["readme"].read_text()
    assert "stale" not in text and "| R² (test) |" in text and "| 8 | " in text
    outside = text.split("<!-- metrics:begin -->")[0] + text.split("<!-- sweep:end -->")[1]
    assert outside == "# title\n\nintro\n\n\n\nend\n"
    figure = files["figure"].read_bytes()
    assert render.main(args(files)) == 0
    assert capsys.readouterr().out == f"render: {files['metrics']} -> nothing (up to date)\n"
    assert files["readme"].read_text() == text and files["figure"].read_bytes() == figure
    assert render.main(args(files, "--check")) == 0


def test_check_names_the_first_differing_line_of_a_one_digit_edit(files, capsys):
    render.main(args(files))
    capsys.readouterr()
    text = files["readme"].read_text()
    files["readme"].write_text(text.replace("| 8 | 0.5200", "| 8 | 0.5201"))
    before = files["readme"].read_bytes()
    assert render.main(args(files, "--check")) == 1
    no = text.splitlines().index("| 8 | 0.5200 (18 B) | **0.5750 (18 B)** | -0.0008 ± 0.0012 |")
    assert capsys.readouterr().err == (
        f"render: {files['readme']}, line {no + 1}, differs from {files['metrics']}: "
        f"has '| 8 | 0.5201 (18 B) | **0.5750 (18 B)** | -0.0008 ± 0.0012 |', the metrics give "
        f"'| 8 | 0.5200 (18 B) | **0.5750 (18 B)** | -0.0008 ± 0.0012 |'; run `make report` "
        f"and commit the result\n")
    assert files["readme"].read_bytes() == before  # --check writes nothing


def test_check_fails_on_a_stale_figure(files, capsys):
    render.main(args(files))
    files["figure"].write_text(files["figure"].read_text().replace('r="3"', 'r="4"', 1))
    assert render.main(args(files, "--check")) == 1
    assert f"render: {files['figure']}, line " in capsys.readouterr().err


def test_splice_refuses_a_readme_without_markers():
    with pytest.raises(UserError) as e:
        render.splice("no markers", "sweep", "x")
    assert str(e.value) == ("README.md: expected one '<!-- sweep:begin -->' followed by one "
                            "'<!-- sweep:end -->'")


def test_figure_plots_every_point_at_its_place():
    svg = render.figure(metrics())
    assert svg.count("<circle") == 4 and svg.count("<polyline") == 2
    # x: bits 4 and 8 at the plot's left (60) and right (660 - 180) edges; y runs from
    # 320 (R² 0.50, bottom) to 20 (0.60, top), 3000 px per unit: 0.55 -> 170, 0.575 -> 95,
    # 0.52 -> 260, and 0.1 is clamped to the bottom edge
    assert '<polyline points="60.0,320.0 480.0,260.0" fill="none" stroke="#d62728"' in svg
    assert '<polyline points="60.0,170.0 480.0,95.0" fill="none" stroke="#ff7f0e"' in svg


@pytest.mark.parametrize("text, message", [
    (None, "no such file; expected metrics written by `housing report` (run `make all`)"),
    ("{", "not metrics written by `housing report` (Expecting property name enclosed in "
          "double quotes: line 1 column 2 (char 1)); run `make all`"),
    ("{}", "not metrics written by `housing report` ('split'); run `make all`"),
])
def test_check_without_good_metrics(capsys, files, text, message):
    files["metrics"].unlink()
    if text is not None:
        files["metrics"].write_text(text)
    assert render.main(args(files, "--check")) == 2
    assert capsys.readouterr().err == f"render: error: {files['metrics']}: {message}\n"


def test_render_imports_no_numpy(files):
    code = ("import sys; sys.path.insert(0, 'tests'); from tools import render; "
            f"render.main({args(files, '--check')!r}); print('numpy' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert run.stdout.splitlines()[-1] == "False"
