import csv
import json
import math
import os
import resource
import subprocess
import sys

import numpy as np
import pytest

from housing.readers import jsondoc
from housing import predict as p
from housing import store
from housing.config import FEATURES, ROOT
from housing.model import SMALL, predict

from helpers import ROWS, run_predict

HEADER = ",".join(FEATURES)


def csv_text(rows=ROWS, header=HEADER, end="\n"):
    return end.join([header] + [",".join(repr(v) for v in r) for r in rows.tolist()]) + end




def expected(model_path, rows=ROWS):
    """What the CLI must print: the library's predictions, exactly (which the first test
    checks against a matrix product)."""
    return "".join(f"{v!r}\n" for v in predict(store.load_model(model_path), rows).tolist())


def assert_predicts(out, model_path, rows=ROWS):
    """``out`` is one prediction per row, as the formula X @ coef + intercept gives it."""
    model = store.load_model(model_path)
    values = [float(line) for line in out.splitlines()]
    np.testing.assert_allclose(values, rows @ model.coef + model.intercept, rtol=1e-12)


@pytest.mark.parametrize("kind", ["float", "quantized"])
def test_library_predictions_match_a_matrix_product(built, kind):
    model = store.load_model(built[kind])
    X = np.random.default_rng(0).normal(size=(1000, 8)) * 100
    np.testing.assert_allclose(predict(model, X), X @ model.coef + model.intercept,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["float", "quantized"])
def test_predicts_what_the_model_says(capsys, monkeypatch, built, kind):
    rc, out, err = run_predict(capsys, monkeypatch, built[kind], csv_text().encode())
    assert (rc, err) == (0, "")
    assert_predicts(out, built[kind])
    assert out == expected(built[kind])  # and every digit as the library gives it


def test_predictions_from_a_file_and_in_any_column_order(tmp_path, capsys, built):
    order = [7, 2, 0, 5, 1, 6, 3, 4]
    f = tmp_path / "rows.csv"
    f.write_text(csv_text(ROWS[:, order], ",".join(FEATURES[i] for i in order)))
    assert p.main(["--model", str(built["float"]), "--input", str(f)]) == 0
    assert capsys.readouterr().out == expected(built["float"])


ODDITIES = {
    "crlf": csv_text(end="\r\n").encode(),
    "no final newline": csv_text().rstrip("\n").encode(),
    "bom": b"\xef\xbb\xbf" + csv_text().encode(),
    "quoted header": csv_text(header=",".join(f'"{f}"' for f in FEATURES)).encode(),
    "spaces": csv_text(header=" , ".join(FEATURES)).replace(",", " , ").encode(),
    "exponents": csv_text().replace("322.0", "3.22e2").replace("8.3252", "832.52E-2").encode(),
    "quoted values": csv_text().replace("41.0", '"41.0"').encode(),
    "blank lines": csv_text().replace("\n", "\n\n", 2).encode() + b"\n \n",
}


@pytest.mark.parametrize("case", ODDITIES)
def test_csv_oddities_that_must_work(capsys, monkeypatch, built, case):
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], ODDITIES[case])
    assert (rc, err) == (0, "") and out == expected(built["float"])


BAD = {
    "empty": (b"", "<stdin>: empty input; expected a header naming the columns "
                   "(MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, "
                   "Longitude) and rows of numbers"),
    "header only": (HEADER.encode() + b"\n",
                    "<stdin>: a header but no rows; expected at least one row of numbers"),
    "missing column": (csv_text(ROWS[:, :7], ",".join(FEATURES[:7])).encode(),
                       "<stdin>, line 1: missing column Longitude; expected MedInc, HouseAge, "
                       "AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude"),
    "misspelt column": (csv_text(header=HEADER.replace("AveRooms", "averooms")).encode(),
                        "<stdin>, line 1: missing column AveRooms ('averooms' looks like "
                        "AveRooms); expected MedInc, HouseAge, AveRooms, AveBedrms, Population, "
                        "AveOccup, Latitude, Longitude"),
    "duplicate column": (csv_text(np.c_[ROWS, ROWS[:, :1]], HEADER + ",MedInc").encode(),
                         "<stdin>, line 1: column 'MedInc' appears twice (columns 1 and 9)"),
    "no header": (csv_text(header="1,2,3,4,5,6,7,8").encode(),
                  "<stdin>, line 1: expected a header naming the columns (MedInc, HouseAge, "
                  "AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude), got a row "
                  "of numbers"),
    "semicolons": (csv_text().replace(",", ";").encode(),
                   "<stdin>, line 1: expected comma-separated values, but the header is "
                   "separated by ';'"),
    "tabs": (csv_text().replace(",", "\t").encode(),
             "<stdin>, line 1: expected comma-separated values, but the header is "
             "separated by '\\t'"),
    "text value": (csv_text().replace("6.98", "n/a").encode(),
                   "<stdin>, line 2, column 'AveRooms': expected a number, got 'n/a'"),
    "empty value": (csv_text().replace(",558.0,", ",,").encode(),
                    "<stdin>, line 3, column 'Population': expected a number, got an empty "
                    "value"),
    "nan": (csv_text().replace("2.03", "nan").encode(),
            "<stdin>, line 4, column 'AveOccup': expected a finite number, got 'nan'"),
    "inf": (csv_text().replace("-122.26", "-inf").encode(),
            "<stdin>, line 4, column 'Longitude': expected a finite number, got '-inf'"),
    "overflow": (csv_text().replace("37.85", "4e400").encode(),
                 "<stdin>, line 3, column 'Latitude': '4e400' overflows to infinity"),
    "short row": (csv_text().replace(",-122.25", "").encode(),
                  "<stdin>, line 3: expected 8 comma-separated values, got 7"),
    "long row": (csv_text().replace("-122.25", "-122.25,1").encode(),
                 "<stdin>, line 3: expected 8 comma-separated values, got 9"),
    "random bytes": (bytes(np.random.default_rng(0).integers(0, 256, 400, dtype=np.uint8)),
                     "<stdin>, line 1: expected UTF-8 text, got byte 0x82 at position 2"),
    "bad byte in a row": (csv_text().encode().replace(b"41.0", b"4\xff.0"),
                          "<stdin>, line 2: expected UTF-8 text, got byte 0xff at position 9"),
    "nul": (csv_text().replace("558.0", "55\x008.0").encode(),
            "<stdin>, line 3: expected text, found a NUL byte"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_gets_one_line_and_status_2(capsys, monkeypatch, built, case):
    data, message = BAD[case]
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], data)
    assert (rc, err) == (2, f"housing predict: error: {message}\n")


def test_errors_far_down_name_the_right_line_after_every_row_before_it(capsys, monkeypatch,
                                                                       built):
    rows = np.tile(ROWS, (70000, 1))  # 210,000 rows: many blocks
    text = csv_text(rows).splitlines()
    text[200003] = text[200003].replace("-122.25", "x")  # file line 200004, ROWS[1]
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], "\n".join(text).encode())
    assert rc == 2 and err == ("housing predict: error: <stdin>, line 200004, column "
                               "'Longitude': expected a number, got 'x'\n")
    assert out == expected(built["float"]) * 66667 + expected(built["float"], ROWS[:1])


@pytest.mark.parametrize("argv, message", [
    (["--model", "nowhere.npz"], "nowhere.npz: no such file; expected a model (run `make "
                                 "all` to build it)"),
    (["--input", "nowhere.csv"], "nowhere.csv: cannot read (No such file or directory)"),
    (["--colour"], "unrecognized arguments: --colour (see --help)"),
])
def test_bad_arguments_get_one_line(capsys, monkeypatch, built, argv, message):
    monkeypatch.chdir(built["float"].parent)
    argv = ["--model", "float.npz"] + argv if argv[0] != "--model" else argv
    assert p.main(argv) == 2
    assert capsys.readouterr().err == f"housing predict: error: {message}\n"


def reference_parse(data):
    """An independent reading of what the CLI promises: csv module, float(), finite; the
    features found by name, other columns ignored."""
    text = data.decode("utf-8-sig")
    if "\0" in text:
        raise ValueError("NUL")
    lines = [line for line in text.splitlines() if line.strip()]
    header = [h.strip() for h in next(csv.reader(lines[:1]))]
    if any(header.count(f) != 1 for f in FEATURES):
        raise ValueError("header")
    rows = []
    for fields in csv.reader(lines[1:]):
        if len(fields) != len(header):
            raise ValueError("row length")
        values = [float(fields[header.index(f)].strip()) for f in FEATURES]
        if not all(math.isfinite(v) for v in values):
            raise ValueError("not finite")
        rows.append(values)
    if not rows:
        raise ValueError("no rows")
    return np.array(rows)


def mutations(seed, count):
    """Malformed variants of a good CSV: bytes dropped, doubled, swapped, or replaced."""
    rng = np.random.default_rng(seed)
    good = bytearray(csv_text(np.round(ROWS * rng.uniform(0.5, 2), 4)).encode())
    alphabet = b',;"\t\r\n .-+eE0123456789nainfx\x00\xff\xef\xbb\xbf'
    for _ in range(count):
        b = bytearray(good)
        for _ in range(rng.integers(1, 4)):
            i = int(rng.integers(0, len(b)))
            op = rng.integers(0, 4)
            if op == 0:
                del b[i]
            elif op == 1:
                b.insert(i, b[i])
            elif op == 2:
                b[i] = alphabet[rng.integers(0, len(alphabet))]
            else:
                b.insert(i, alphabet[rng.integers(0, len(alphabet))])
        yield bytes(b)


def test_generated_malformed_inputs_get_a_clean_error_or_the_right_answer(
        capsys, monkeypatch, built):
    model = store.load_model(built["float"])
    outcomes = {"error": 0, "answer": 0}
    for data in mutations(seed=0, count=600):
        rc, out, err = run_predict(capsys, monkeypatch, built["float"], data)
        if rc == 0:
            X = reference_parse(data)  # raises if the CLI accepted what it should not
            assert out == "".join(f"{v!r}\n" for v in predict(model, X).tolist())
            outcomes["answer"] += 1
        else:
            last = err.splitlines()[-1]
            assert rc == 2 and last.startswith("housing predict: error: <stdin>")
            assert "Traceback" not in err and err.count("error") == 1
            outcomes["error"] += 1
    assert min(outcomes.values()) > 50  # both kinds really were exercised


def test_inference_imports_numpy_and_nothing_heavier(built):
    code = ("import sys, runpy; sys.argv = ['housing', 'predict', '--model', sys.argv[1]]\n"
            "try:\n    runpy.run_module('housing', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sklearn', 'scipy', 'joblib', 'pandas'))\n"
            "print(heavy, file=sys.stderr)")
    run_ = subprocess.run([sys.executable, "-c", code, str(built["quantized"])],
                          input=csv_text().encode(), capture_output=True, cwd=ROOT)
    assert run_.returncode == 0
    assert run_.stdout.decode() == expected(built["quantized"])
    assert run_.stderr.decode().strip() == "[]"


@pytest.mark.parametrize("kind", ["float", "quantized"])
def test_a_few_rows_in_python_floats_give_numpy_s_bits(built, kind):
    # the path for small requests against the vectorised one, on values of every size
    model = store.load_model(built[kind])
    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 8)) * 10.0 ** rng.integers(-8, 300, size=(400, 8))
    X[:5, :2] = [[1.7e308, 1.7e308], [-1.7e308, -1.7e308], [0.0, -0.0], [np.inf, -np.inf],
                 [-0.0, -0.0]]  # overflow to inf, inf - inf to nan, zeros
    whole = predict(model, X)
    assert len(X) > SMALL
    for start in range(0, len(X), SMALL):
        part = predict(model, X[start:start + SMALL])
        np.testing.assert_array_equal(part, whole[start:start + SMALL])
        assert part.tobytes() == whole[start:start + SMALL].tobytes()  # -0.0 and nan bits too


def big_csv(tmp_path, rows, bad_line=None):
    """A CSV file of ``rows`` copies of ROWS' lines; line ``bad_line`` (1-based, header is
    line 1) holds a value that is not a number."""
    lines = [",".join(map(repr, r)) for r in ROWS.tolist()] * (rows // 3 + 1)
    lines = [HEADER] + lines[:rows]
    if bad_line:  # HouseAge, the second column, is not a number there
        fields = lines[bad_line - 1].split(",")
        lines[bad_line - 1] = ",".join(fields[:1] + ["x"] + fields[2:])
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def predict_run(built, path, **popen):
    """predict on the file ``path`` in a process of its own: (exit status, stdout, stderr)."""
    popen = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **popen}
    run_ = subprocess.run([sys.executable, "-m", "housing", "predict", "--model",
                           str(built["float"]), "--input", str(path)], cwd=ROOT, **popen)
    return run_.returncode, (run_.stdout or b"").decode(), run_.stderr.decode()


def test_a_large_input_prints_the_same_bytes_as_the_formula(tmp_path, built):
    n = 200_000  # many blocks of input
    assert predict_run(built, big_csv(tmp_path, n)) == (
        0, expected(built["float"], np.tile(ROWS, (n // 3 + 1, 1))[:n]), "")


def test_a_bad_row_far_down_comes_after_every_row_before_it(tmp_path, built):
    n = 150_000
    path = big_csv(tmp_path, n, bad_line=n - 10)
    good = n - 12  # data rows before file line n - 10
    assert predict_run(built, path) == (
        2, expected(built["float"], np.tile(ROWS, (n // 3 + 1, 1))[:good]),
        f"housing predict: error: {path}, line {n - 10}, column 'HouseAge': expected a "
        f"number, got 'x'\n")


INCOMPLETE = "housing predict: error: <stdout>: cannot write the predictions ({}); the output is incomplete\n"


def test_a_reader_that_stops_early_is_told_and_the_status_is_not_0(tmp_path, built):
    proc = subprocess.Popen([sys.executable, "-m", "housing", "predict", "--model",
                             str(built["float"]), "--input", str(big_csv(tmp_path, 300_000))],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(100)  # like `| head`: a little, then the pipe closes
    proc.stdout.close()
    assert proc.wait(timeout=60) == 2
    assert proc.stderr.read().decode() == INCOMPLETE.format("Broken pipe")


def test_a_full_disk_and_a_file_size_limit_end_with_one_line_and_status_2(tmp_path, built):
    path = big_csv(tmp_path, 30_000)
    with open("/dev/full", "w") as full:
        assert predict_run(built, path, stdout=full)[::2] == (
            2, INCOMPLETE.format("No space left on device"))
    out = tmp_path / "out.txt"
    with open(out, "w") as f:  # as `ulimit -f 8` would: 8 blocks of 512 bytes
        rc, _, err = predict_run(built, path, stdout=f, preexec_fn=lambda: resource.setrlimit(
            resource.RLIMIT_FSIZE, (4096, 4096)))
    assert (rc, err) == (2, INCOMPLETE.format("File too large"))
    assert out.stat().st_size <= 4096


def test_a_closed_stdout_is_one_line(tmp_path, built):
    rc, _, err = predict_run(built, big_csv(tmp_path, 3), stdout=None,
                             preexec_fn=lambda: os.close(1))
    assert (rc, err) == (2, "housing predict: error: standard output is closed; expected "
                            "somewhere to write the predictions\n")


CSV_9_REFUSED_10_BAD = (HEADER + "\n" + "".join(
    f"{','.join(map(str, ROWS[i % 3]))}\n" for i in range(7))
    + "8.3252,41,6.98,1.02,1e308,2.55,37.88,-122.23\n"  # line 9: outside the range
    + "8.3252,x,6.98,1.02,322,2.55,37.88,-122.23\n").encode()  # line 10: not a number


def test_a_refused_row_and_a_bad_row_are_reported_in_line_order(capsys, monkeypatch, built):
    # by line number, not by message: "line 10" sorts before "line 9" as text
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], CSV_9_REFUSED_10_BAD,
                               "--strict")
    assert rc == 2 and len(out.splitlines()) == 7
    assert err.startswith("housing predict: error: <stdin>, line 9, column 'Population': "
                          "expected a value within the training range")
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], CSV_9_REFUSED_10_BAD,
                               "--strict", "--skip-invalid")
    assert rc == 1 and out.splitlines()[7:] == ["", ""]
    assert [line.split(", column")[0] for line in err.splitlines()[:2]] == [
        "housing predict: skipped <stdin>, line 9", "housing predict: skipped <stdin>, line 10"]
    assert err.splitlines()[-1] == "housing predict: 2 rows skipped"


def test_rows_skipped_in_every_chunk_are_all_counted(capsys, monkeypatch, built):
    monkeypatch.setattr(jsondoc, "CHUNK", 2)  # records 1-2, 3-4, 5
    records = [dict(zip(FEATURES, ROWS[i % 3].tolist())) for i in range(5)]
    records[0]["HouseAge"] = records[3]["HouseAge"] = "x"
    data = json.dumps(records).encode()
    rc, out, err = run_predict(capsys, monkeypatch, built["float"], data, "--skip-invalid")
    assert rc == 1 and [bool(line) for line in out.splitlines()] == [False, True, True, False,
                                                                     True]
    assert err.splitlines()[-1] == "housing predict: 2 rows skipped"
