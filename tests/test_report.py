import json

import numpy as np
import pytest

from housing import report, store
from housing.cli import UserError
from housing.config import METHODS, SWEEP_BITS

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


@pytest.fixture(scope="module")
def reported(built, tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    paths = {"metrics": d / "metrics.json", "readme": d / "README.md", "figure": d / "fig.svg"}
    paths["readme"].write_text(README)
    argv = ["--data", str(built["split"]), "--float", str(built["float"]),
            "--quantized", str(built["quantized"])]
    argv += [f"--{k}={v}" for k, v in paths.items()]
    assert report.main(argv) == 0
    return paths, argv


def test_metrics_hold_both_models_and_the_sweep(reported, built):
    mx = json.loads(reported[0]["metrics"].read_text())
    for name in ("float", "quantized"):
        assert {"path", "r2", "mse", "mae", "max_abs_diff_vs_float", "file_bytes",
                "payload_bytes", "bits"} <= mx[name].keys()
    assert mx["float"]["max_abs_diff_vs_float"] == 0 and mx["float"]["bits"] == 64
    assert mx["quantized"]["payload_bytes"] == 24
    assert mx["quantized"]["file_bytes"] == built["quantized"].stat().st_size
    assert {(r["method"], r["bits"]) for r in mx["sweep"]} == \
        {(m, b) for m in METHODS for b in SWEEP_BITS}
    assert sum(r["auto"] for r in mx["sweep"]) == len(SWEEP_BITS)


def test_metrics_agree_with_an_independent_computation(reported, built):
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
    mx = json.loads(reported[0]["metrics"].read_text())
    _, split = store.load_split(built["split"])
    model = store.load_model(built["quantized"])
    X, y = split["X_test"], split["y_test"]
    pred = X @ model.coef + model.intercept
    assert mx["quantized"]["r2"] == pytest.approx(r2_score(y, pred), abs=1e-8)
    assert mx["quantized"]["mse"] == pytest.approx(mean_squared_error(y, pred), abs=1e-8)
    assert mx["quantized"]["mae"] == pytest.approx(mean_absolute_error(y, pred), abs=1e-8)


def test_readme_is_rewritten_between_markers_only_and_idempotently(reported):
    paths, argv = reported
    text = paths["readme"].read_text()
    assert "stale" not in text and "| R² (test) |" in text and "| 8 | " in text
    outside = text.split("<!-- metrics:begin -->")[0] + text.split("<!-- sweep:end -->")[1]
    assert outside == "# title\n\nintro\n\n\n\nend\n"
    figure = paths["figure"].read_bytes()
    assert report.main(argv) == 0 and report.main(argv[6:] + ["--render"]) == 0
    assert paths["readme"].read_text() == text and paths["figure"].read_bytes() == figure
    assert report.main(argv[6:] + ["--check"]) == 0


def test_check_fails_on_a_stale_table_or_figure(reported, tmp_path, capsys):
    paths, argv = reported
    stale = tmp_path / "README.md"
    stale.write_text(paths["readme"].read_text().replace("| R² (test) | ", "| R² (test) | 9"))
    check = ["--metrics", str(paths["metrics"]), "--figure", str(paths["figure"]), "--check"]
    assert report.main(check + ["--readme", str(stale)]) == 1
    assert "README.md differ from" in capsys.readouterr().err
    figure = tmp_path / "fig.svg"
    figure.write_text(paths["figure"].read_text() + " ")
    check[3] = str(figure)
    assert report.main(check + ["--readme", str(paths["readme"])]) == 1


def test_splice_refuses_a_readme_without_markers():
    with pytest.raises(UserError, match="expected one '<!-- sweep:begin -->' followed by one "
                                        "'<!-- sweep:end -->'"):
        report.splice("no markers", "sweep", "x")


def test_figure_is_deterministic_and_plots_every_point(reported):
    mx = json.loads(reported[0]["metrics"].read_text())
    svg = report.figure(mx)
    assert svg == report.figure(json.loads(json.dumps(mx)))
    assert svg.count("<circle") == len(METHODS) * len(SWEEP_BITS)
    assert svg.count("<polyline") == len(METHODS)


def test_report_refuses_models_from_another_split(built, tmp_path, capsys):
    from conftest import synthetic, write_split
    other = write_split(tmp_path / "split.npz", *synthetic(seed=5))
    assert report.main(["--data", str(other), "--float", str(built["float"]),
                        "--quantized", str(built["quantized"]),
                        "--metrics", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert "was trained on another split than" in err and "data_sha256" in err
    assert not (tmp_path / "m.json").exists()


def test_scores_known_answer():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    s = report.scores(y, y + [0.5, -0.5, 0.5, -0.5], y)
    assert s == {"r2": 1 - 0.25 / 1.25, "mse": 0.25, "mae": 0.5, "max_abs_diff_vs_float": 0.5}
