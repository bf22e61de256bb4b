"""Benchmark: figures to read, never assertions.

    python tests/bench/bench.py [--rows 1000000] [--repeat 5] [--model artifacts/models/quantized.npz]

Prints, each as the median of ``--repeat`` runs measured here and now:

- predict over ``--rows`` rows of CSV, then of JSON Lines: rows per second, peak memory
  (the child's max RSS), when the first prediction came out (it streams), against
  pandas + a joblib-loaded scikit-learn model (tests/baseline/predict_pandas.py);
- predict --skip-invalid over ``--rows`` rows of CSV, one in 100 refused, against the
  same rows all good;
- cold start: ``python -m housing predict`` on 5 rows, against the usual script that
  loads a joblib model into scikit-learn (tests/baseline/predict.py);
- ``make all`` from clean artifacts in a copy of the repo, against the usual two
  scikit-learn scripts for train and quantize (tests/baseline/).

The baselines run under ``--compare-python``, an environment with pandas, scikit-learn and
joblib (``make bench`` builds .venv-bench); ``make all`` needs the data set.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from housing import store
from housing.cli import Parser, command, count
from housing.config import FEATURES, QUANTIZED_MODEL, SPLIT
from repo import BASELINE, copy_repo, plain_env


def run(argv, stdin=None, cwd=None, exit_codes=(0,)):
    """Run a command; returns (seconds, peak RSS in MB, seconds to first output byte)."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:  # a file: a child's stderr never fills a pipe
        proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE, cwd=cwd,
                                stderr=err, env=plain_env())
        first = None
        while proc.stdout.read1(1 << 16):
            first = first or time.perf_counter() - start
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in exit_codes:
            err.seek(0)
            raise SystemExit(f"bench: {' '.join(map(str, argv))} failed:\n"
                             f"{err.read().decode()}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024, first


def median_of(repeat, argv, stdin_path=None, cwd=None, before=None, exit_codes=(0,)):
    results = []
    for _ in range(repeat):
        if before:
            before()
        with open(stdin_path or os.devnull, "rb") as f:
            results.append(run(argv, stdin=f, cwd=cwd, exit_codes=exit_codes))
    return [statistics.median(r[i] for r in results) for i in range(3)]


def write_rows(path, n, lines, header=",".join(FEATURES)):
    """The first n of ``lines``, repeated as needed, under ``header`` (None: no header)."""
    with open(path, "w") as f:
        if header:
            f.write(header + "\n")
        for i in range(0, n, len(lines)):
            f.write("\n".join(lines[: n - i]) + "\n")
    return path


def _parser():
    p = Parser(prog="housing bench", description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=count, default=1_000_000, help="rows in the big inputs")
    p.add_argument("--repeat", type=count, default=5, help="runs per figure (median)")
    p.add_argument("--model", default=QUANTIZED_MODEL, help="the model predict uses")
    p.add_argument("--compare-python", default=sys.executable,
                   help="the Python with pandas, scikit-learn and joblib for the baselines")
    return p


def throughput(args, predict, tmp, lines, big_csv, joblib_model):
    """predict against pandas + joblib + scikit-learn, on ``big_csv`` (``lines`` as CSV)
    and on the same rows as JSON Lines."""
    records = [json.dumps(dict(zip(FEATURES, map(float, line.split(","))))) for line in lines]
    theirs_script = [args.compare_python, BASELINE / "predict_pandas.py", joblib_model]
    for kind, path in (("CSV", big_csv),
                       ("JSON Lines", write_rows(tmp / "big.jsonl", args.rows, records, None))):
        mb = path.stat().st_size / 1e6
        secs, peak, first = median_of(args.repeat, predict + ["--input", str(path)])
        theirs, their_peak, _ = median_of(args.repeat, theirs_script + [path])
        print(f"bench: predict, {args.rows:,} rows of {kind} ({mb:.0f} MB): {secs:.2f} s, "
              f"{args.rows / secs:,.0f} rows/s, peak {peak:.0f} MB, first prediction after "
              f"{first * 1000:.0f} ms; pandas + joblib + scikit-learn {theirs:.2f} s, peak "
              f"{their_peak:.0f} MB; {theirs / secs:.2f}x as fast")


def bad_rows(args, predict, tmp, lines, big_csv):
    """predict --skip-invalid on CSV with one row in 100 refused (its first value 'NA'),
    against the same rows all good (``big_csv``): what bad rows cost."""
    bad = [line if i % 100 else "NA," + line.split(",", 1)[1] for i, line in enumerate(lines)]
    bad_path = write_rows(tmp / "bad.csv", args.rows, bad)
    good = median_of(args.repeat, predict + ["--input", str(big_csv)])[0]
    secs = median_of(args.repeat, predict + ["--skip-invalid", "--input", str(bad_path)],
                     exit_codes=(1,))[0]
    print(f"bench: predict --skip-invalid, {args.rows:,} rows of CSV, one in 100 refused: "
          f"{secs:.2f} s; all good {good:.2f} s")


def cold_start(args, predict, tmp, lines, joblib_model):
    small = write_rows(tmp / "small.csv", 5, lines)
    ours = median_of(args.repeat, predict, small)[0]
    theirs = median_of(args.repeat, [args.compare_python, BASELINE / "predict.py",
                                     joblib_model], small)[0]
    print(f"bench: cold start, 5 rows: {ours * 1000:.0f} ms; joblib + scikit-learn "
          f"script {theirs * 1000:.0f} ms; ratio {ours / theirs:.2f}")


def make_all(args, tmp):
    repo = copy_repo(tmp / "repo")

    def clean():
        shutil.rmtree(repo / "artifacts", ignore_errors=True)

    py = args.compare_python
    script = (f"{py} {BASELINE / 'train.py'} m.joblib && "
              f"{py} {BASELINE / 'quantize.py'} m.joblib q.joblib")
    ours = []
    theirs = []
    for _ in range(args.repeat):  # taking turns, so that a slow spell of the host hits both
        ours.append(median_of(1, ["make", "all"], cwd=repo, before=clean)[0])
        theirs.append(median_of(1, ["bash", "-c", script], cwd=tmp)[0])
    ratio = statistics.median(a / b for a, b in zip(ours, theirs))
    print(f"bench: make all from clean: {statistics.median(ours):.2f} s; the usual train + "
          f"quantize scripts {statistics.median(theirs):.2f} s; ratio {ratio:.2f} (the median "
          f"of {args.repeat} pairs, taking turns)")


@command("housing bench")
def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    predict = [sys.executable, "-m", "housing", "predict", "--model", str(args.model)]
    args.compare_python = os.path.abspath(args.compare_python)  # the runs go elsewhere
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        split = store.load_split(SPLIT).arrays  # test rows: realistic values, ~70 bytes each
        lines = [",".join(repr(v) for v in row) for row in split["X_test"].tolist()]
        joblib_model = tmp / "model.joblib"
        subprocess.run([args.compare_python, BASELINE / "train.py", joblib_model], check=True,
                       capture_output=True, cwd=tmp)
        big_csv = write_rows(tmp / "big.csv", args.rows, lines)
        throughput(args, predict, tmp, lines, big_csv, joblib_model)
        bad_rows(args, predict, tmp, lines, big_csv)
        cold_start(args, predict, tmp, lines, joblib_model)
        make_all(args, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
