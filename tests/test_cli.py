"""Every entry point answers a mistake with one line and status 2, and does its job."""
import json
import subprocess
import sys

import pytest

from housing import __main__ as entry
from housing import data, demo, report, store, train
from housing.config import ROOT


@pytest.mark.parametrize("argv, status, message", [
    ([], 2, "housing: error: expected a stage (data, train, quantize, report, predict, demo, "
            "bench), got nothing; see python -m housing --help\n"),
    (["fit"], 2, "housing: error: expected a stage (data, train, quantize, report, predict, "
                 "demo, bench), got 'fit'; see python -m housing --help\n"),
    (["--help"], 0, ""),
])
def test_dispatch(capsys, argv, status, message):
    assert entry.main(argv) == status
    assert capsys.readouterr().err == message


def test_running_as_a_module_prints_no_traceback():
    run = subprocess.run([sys.executable, "-m", "housing", "train", "--data", "nowhere.npz"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == ("housing train: error: nowhere.npz: no such file; expected the "
                          "train/test split (run `make all` to build it)\n")


def test_train_refuses_a_model_file_for_a_split(capsys, built, tmp_path):
    assert train.main(["--data", str(built["float"]), "--out", str(tmp_path / "f.npz")]) == 2
    assert "expected the train/test split with members" in capsys.readouterr().err


@pytest.mark.parametrize("text, message", [
    (None, "no such file; expected metrics written by `housing report` (run `make report`)"),
    ("{", "not metrics written by `housing report` (Expecting property name"),
    ("{}", "not metrics written by `housing report` ('split'); run `make report`"),
])
def test_report_check_without_good_metrics(capsys, tmp_path, text, message):
    metrics = tmp_path / "m.json"
    if text is not None:
        metrics.write_text(text)
    assert report.main(["--check", "--metrics", str(metrics)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("housing report: error: ") and message in err and err.count("\n") == 1


@pytest.fixture
def demo_files(built, tmp_path):
    mx = report.evaluate(built["split"], built["float"], built["quantized"])
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps(mx))
    _, split = store.load_split(built["split"])
    sample = tmp_path / "sample.csv"
    sample.write_text(data.sample_csv(split["X_test"], split["y_test"], 5))
    return metrics, sample, mx


def test_demo_prints_both_models_beside_the_truth(capsys, demo_files):
    metrics, sample, mx = demo_files
    assert demo.main(["--metrics", str(metrics), "--sample", str(sample)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 + 1 + 5 + 1 and out[-1].endswith("-> ok")
    assert out[1].split() == ["float", "quantized", "true", "|diff|"]


def test_demo_fails_when_the_models_disagree_beyond_the_report(capsys, demo_files):
    metrics, sample, mx = demo_files
    mx["quantized"]["max_abs_diff_vs_float"] = 0.0  # models no longer what the report says
    metrics.write_text(json.dumps(mx))
    assert demo.main(["--metrics", str(metrics), "--sample", str(sample)]) == 1
    assert capsys.readouterr().out.splitlines()[-1].endswith("-> EXCEEDED")


def test_demo_without_sample_rows(capsys, demo_files, tmp_path):
    metrics, _, _ = demo_files
    assert demo.main(["--metrics", str(metrics), "--sample", str(tmp_path / "no.csv")]) == 2
    assert "no.csv: no such file; expected the sample rows" in capsys.readouterr().err
