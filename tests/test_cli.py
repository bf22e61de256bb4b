"""Every entry point answers a mistake with one line and status 2, and does its job."""
import importlib
import re
import json
import os
import subprocess
from pathlib import Path
import sys

import numpy as np
import pytest

from housing import __main__ as entry
from housing import data, demo, info, report, store, train
from housing.config import (FLOAT_MODEL, PARAMS, QUANTIZED_MODEL, ROOT, SAMPLE,
                            SPLIT)


STAGES = ("data, train, quantize, report, predict, info, serve, drift, export, mlflow, sql, demo, "
          "track, promote, fetch")


@pytest.mark.parametrize("argv, status, message", [
    ([], 2, f"housing: error: expected a stage ({STAGES}), got nothing; see python -m housing "
            f"--help\n"),
    (["fit"], 2, f"housing: error: expected a stage ({STAGES}), got 'fit'; see python -m "
                 f"housing --help\n"),
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


@pytest.fixture
def demo_files(built, tmp_path, capsys):
    metrics = tmp_path / "metrics.json"
    assert report.main(["--data", str(built["split"]), "--float", str(built["float"]),
                        "--quantized", str(built["quantized"]), "--metrics", str(metrics)]) == 0
    mx = json.loads(metrics.read_text())
    capsys.readouterr()  # what report printed
    split = store.load_split(built["split"]).arrays
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


def test_demo_without_sample_rows_takes_the_splits_first_test_rows(capsys, demo_files, built,
                                                                   tmp_path):
    metrics, sample, _ = demo_files  # the sample: the split's first five test rows
    assert demo.main(["--metrics", str(metrics), "--sample", str(sample)]) == 0
    from_sample = capsys.readouterr().out
    assert demo.main(["--metrics", str(metrics), "--sample", str(tmp_path / "no.csv"),
                      "--data", str(built["split"])]) == 0
    assert capsys.readouterr().out == from_sample
    assert demo.main(["--metrics", str(metrics), "--sample", str(tmp_path / "no.csv"),
                      "--data", str(tmp_path / "none.npz")]) == 2
    assert capsys.readouterr().err == (
        f"housing demo: error: {tmp_path / 'no.csv'}: no such file; expected the sample rows, "
        f"or the split ({tmp_path / 'none.npz'}) for its first test rows\n")


def test_info_prints_a_model_card_with_the_report_s_metrics(capsys, demo_files, built):
    metrics, _, mx = demo_files
    model = store.load_model(built["quantized"])
    mx["quantized"]["path"] = str(built["quantized"])  # absolute: ROOT / path is the file
    metrics.write_text(json.dumps(mx))
    assert info.main([str(built["quantized"]), "--metrics", str(metrics)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{built['quantized']}: quantized model, standardized, 8 bits (picked " \
                       f"by auto on the training split)"
    assert lines[1] == f"  {built['quantized'].stat().st_size} bytes on disk, 24 of them parameters"
    assert lines[3] == f"  intercept: {model.intercept!r} ($100,000)"
    # the coefficient column is the dequantized model, to the 6 digits printed
    coefs = [float(line.split()[1]) for line in lines[5:13]]
    np.testing.assert_allclose(coefs, model.coef, rtol=5e-6)
    assert [line.split()[0] for line in lines[5:13]] == list(model.features)
    assert lines[13] == (f"  test split: R² {mx['quantized']['r2']:.4f}, MSE "
                         f"{mx['quantized']['mse']:.4f}, MAE {mx['quantized']['mae']:.4f}, "
                         f"largest difference from the float model "
                         f"{mx['quantized']['max_abs_diff_vs_float']:.4f}")


def test_info_without_metrics_beside_it(capsys, built):
    assert info.main([str(built["float"])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 13 and lines[0].endswith("float model, least squares (scikit-learn's "
                                                  "LinearRegression), float64")


@pytest.mark.parametrize("stage, argv", [("serve", ["--workers", "0"]),
                                         ("serve", ["--max-body", "x"])])
def test_counts_must_be_whole_and_positive(capsys, stage, argv):
    assert entry.main([stage] + argv) == 2
    flag, value = argv[-2], argv[-1]
    assert capsys.readouterr().err == (f"housing {stage}: error: argument {flag}: expected a "
                                       f"whole number of at least 1, got '{value}' (see --help)\n")


# Each stage's command line as --help shows it: (flags, default, help). The defaults are
# the paths and parameters of housing.config.
OPTIONS = {
    "data": ("Stage 1: California Housing from scikit-learn's cache, checked, split, saved.", [
        (["--seed"], PARAMS.seed, "split seed"),
        (["--test-size"], PARAMS.test_size, "share of rows held out for test, between 0 and 1"),
        (["--out"], SPLIT, "the split, .npz"),
        (["--sample-from"], None, "only write --sample, from this split (no scikit-learn "
                                  "needed)"),
        (["--sample"], SAMPLE, "a few test rows as CSV, for the image"),
        (["--sample-rows"], 5, "how many test rows --sample holds (default 5); 0 for all")]),
    "train": ("Stage 2: scikit-learn's ``LinearRegression`` on the training split, saved as a "
              "float model.", [
                  (["--data"], SPLIT, "the split written by `housing data`"),
                  (["--out"], FLOAT_MODEL, "the float model, .npz")]),
    "quantize": ("Stage 3: post-training quantization of the float model's coefficients.", [
        (["--bits"], PARAMS.bits, "code width, 2 to 16"),
        (["--method"], PARAMS.method, "auto or one of minmax, bias-corrected, standardized, "
                                      "error-compensating"),
        (["--model"], FLOAT_MODEL, "the float model"),
        (["--data"], SPLIT, "the split the float model was trained on"),
        (["--out"], QUANTIZED_MODEL, "the quantized model, .npz")]),
    "predict": ("Inference: rows in (CSV, JSON or JSON Lines), one prediction per row out, "
                "numpy alone.", [
                    (["--model"], QUANTIZED_MODEL, "a float or quantized model, .npz"),
                    (["--input"], "-", "a file of rows; - for stdin (default)"),
                    (["--format"], "auto", "auto (default): JSON if it starts with [ or {, "
                                           "else CSV"),
                    (["--id"], None, "copy this input column before each prediction"),
                    (["--output"], None, "plain: one bare prediction per line (default); csv "
                                         "(default with --id) or jsonl: with a header or keys, "
                                         "and the --id column"),
                    (["--skip-invalid"], False, "name bad rows on stderr and go on, leaving "
                                                "each an empty prediction; exit status 1 if "
                                                "any"),
                    (["--strict"], False, "refuse rows with a feature outside the training "
                                          "range"),
                    (["--integer"], False, "the quantized model's integer-only kernel, as "
                                           "exported to C; prints exact decimals")]),
}


def help_of(capsys, monkeypatch, stage):
    """What ``housing STAGE --help`` prints, one line an option's help."""
    monkeypatch.setenv("COLUMNS", "1000")  # argparse's width
    with pytest.raises(SystemExit) as e:
        entry.main([stage, "--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


def options_shown(text):
    """(the first flag, its help) of each option the help text lists, -h aside; an
    option's help follows its flags on their line, or on the next when they are long."""
    entries = re.findall(r"^  (-[^\n]*(?:\n {3,}[^\n]*)?)", text, re.M)
    pairs = [re.split(r"\s{2,}", " ".join(entry.split("\n")).strip(), maxsplit=1)
             for entry in entries]
    return [(flags.split()[0].rstrip(","), text) for flags, text in pairs if flags != "-h, --help"]


@pytest.mark.parametrize("stage", OPTIONS)
def test_each_stage_s_options_defaults_and_help(capsys, monkeypatch, stage):
    description, options = OPTIONS[stage]
    shown = help_of(capsys, monkeypatch, stage)
    assert shown.startswith(f"usage: housing {stage} ")
    assert f"\n\n{description}\n\n" in shown
    assert options_shown(shown) == [(flags[0], text) for flags, _, text in options]
    parser = importlib.import_module(entry.MODULES.get(stage, f"housing.{stage}")).parser()
    assert [parser.get_default(flags[0][2:].replace("-", "_")) for flags, _, _ in options] == [
        default for _, default, _ in options]


def test_predict_s_choices_and_metavar(capsys, monkeypatch):
    shown = help_of(capsys, monkeypatch, "predict")
    assert "  --format {auto,csv,json,jsonl}\n" in shown
    assert "  --output {plain,csv,jsonl}\n" in shown
    assert "  --id COLUMN  " in shown


def test_the_installed_command_and_its_version(tmp_path):
    # the `housing` script pip installed (make's editable install), run outside the repo
    # the version is the package's one definition, as pyproject.toml reads it
    script = ROOT / ".venv" / "bin" / "housing"
    run = subprocess.run([script, "--version"], capture_output=True, text=True, cwd=tmp_path)
    from housing import __version__
    assert (run.returncode, run.stdout) == (0, f"housing {__version__}\n")
    assert 'version = { attr = "housing.__version__" }' in (ROOT / "pyproject.toml").read_text()
    run = subprocess.run([script, "predict"], capture_output=True, text=True, cwd=tmp_path,
                         stdin=subprocess.DEVNULL)
    # outside a checkout there is no Makefile: the message names the stages
    assert run.stderr == ("housing predict: error: artifacts/models/quantized.npz: no such "
                          "file; expected a model (run `housing data && housing train && "
                          "housing quantize && housing report` to build it)\n")


@pytest.mark.parametrize("stage", ["data", "train"])
def test_without_scikit_learn_the_first_stages_name_the_extra(tmp_path, built, stage):
    # what `pip install .` leaves: the package and numpy, no scikit-learn
    import numpy
    only = tmp_path / "site"
    only.mkdir()
    (only / "housing").symlink_to(ROOT / "housing")
    (only / "numpy").symlink_to(Path(numpy.__file__).parent)
    for libs in Path(numpy.__file__).parent.parent.glob("numpy*.libs"):
        (only / libs.name).symlink_to(libs)
    argv = ["--data", str(built["split"]), "--out", "f.npz"] if stage == "train" else []
    run = subprocess.run([sys.executable, "-S", "-m", "housing", stage, *argv],
                         capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(only)}, stdin=subprocess.DEVNULL)
    assert (run.returncode, run.stderr) == (2, (
        f"housing {stage}: error: housing {stage} needs scikit-learn, which the train extra "
        f"installs: pip install 'housing[train]'\n"))


def output_cases(built, tmp_path):
    """(argv, prog, what it writes) of every command that writes to stdout."""
    model = str(built["quantized"])
    return [
        (["--version"], "housing", "the version"),
        (["--help"], "housing", "the help"),
        (["sql", "--help"], "housing sql", "the help"),
        (["sql", "--model", model, "--dialect", "duckdb"], "housing sql", "the query"),
        (["info", model], "housing info", "the model card"),
        (["export", "--c", str(tmp_path / "c"), "--model", model], "housing export",
         "the summary"),
        (["train", "--data", str(built["split"]), "--out", str(tmp_path / "f.npz")],
         "housing train", "the summary"),
    ]


@pytest.mark.parametrize("case", range(7))
def test_every_command_that_writes_to_stdout_says_when_it_cannot(built, tmp_path, case):
    """Into a full disk, and with stdout closed: one line and status 2, never a traceback
    or status 0 with the output lost."""
    argv, prog, what = output_cases(built, tmp_path)[case]
    command = [sys.executable, "-m", "housing", *argv]
    with open("/dev/full", "w") as full:
        run = subprocess.run(command, cwd=ROOT, stdout=full, stderr=subprocess.PIPE, text=True)
    assert (run.returncode, run.stderr) == (
        2, f"{prog}: error: <stdout>: cannot write {what} (No space left on device); the "
           f"output is incomplete\n")
    run = subprocess.run(command, cwd=ROOT, stdout=None, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: os.close(1))
    assert (run.returncode, run.stderr) == (
        2, f"{prog}: error: standard output is closed; expected somewhere to write {what}\n")


def test_predict_with_stdin_closed_is_one_line(built):
    run = subprocess.run([sys.executable, "-m", "housing", "predict", "--model",
                          str(built["quantized"])], cwd=ROOT, capture_output=True, text=True,
                         stdin=None, preexec_fn=lambda: os.close(0))
    assert (run.returncode, run.stdout, run.stderr) == (
        2, "", "housing predict: error: standard input is closed; expected rows on it, or "
               "--input FILE\n")


def test_a_written_file_is_replaced_whole_and_a_device_is_written_as_it_is(tmp_path):
    """atomic_write renames a new file over a file, but never over what is not one (a
    rename over /dev/stdout or /dev/null would replace the device itself): a FIFO gets
    the bytes, a link keeps pointing at its file, and a path it cannot make is one line."""
    import threading
    from housing.cli import UserError, atomic_write
    target = tmp_path / "metrics.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    atomic_write(link, b"new")
    assert link.is_symlink() and target.read_text() == "new"

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    atomic_write(fifo, b"through the pipe")
    reader.join(timeout=10)
    assert got == [b"through the pipe"] and fifo.exists() and not fifo.is_file()

    with pytest.raises(UserError) as e:
        atomic_write(target / "under-a-file.json", b"x")
    assert str(e.value) == (f"{target / 'under-a-file.json'}: cannot write (a part of the "
                            f"path is a file, not a folder)")
    with pytest.raises(UserError) as e:
        atomic_write(tmp_path, b"x")
    assert str(e.value) == f"{tmp_path}: cannot write (Is a directory)"
