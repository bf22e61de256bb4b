"""housing serve --log-inputs: each served row, its prediction, model version and request id
as JSON Lines; a sampled share; a log that housing predict and housing drift read as it is;
and a full disk or a deleted folder that no client ever notices."""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from housing import drift, store
from housing.config import FEATURES, ROOT

from repo import free_port, plain_env
from serving import ROWS, call, start, stop


def lines(path, count, seconds=10):
    """The JSON objects of the log once it holds ``count`` lines: a worker writes them at
    the end of the loop turn that answered, which may come after the client has its answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if text.count("\n") >= count:
            return [json.loads(line) for line in text.splitlines()]
        time.sleep(0.05)
    raise AssertionError(f"{path} holds {text.count(chr(10))} lines, expected {count}")


def infer(address, X, request_id=None, model="quantized"):
    headers = {"X-Request-Id": request_id} if request_id else {}
    status, body, _ = call((address,), "POST", f"/v2/models/{model}/infer",
                           {"inputs": [{"name": "x", "shape": list(X.shape), "datatype": "FP64",
                                        "data": X.ravel().tolist()}]}, headers=headers)
    assert status == 200, body
    return body["outputs"][0]["data"]


@pytest.fixture
def logged(built, tmp_path):
    """(address, log path, process) of a server writing its request log in tmp_path."""
    port = free_port()
    path = tmp_path / "logs" / "requests.jsonl"
    path.parent.mkdir()
    proc = start(built, port, "--log-inputs", str(path))
    yield f"127.0.0.1:{port}", path, proc
    stop(proc)


def test_each_row_is_logged_with_its_prediction_version_and_request_id(logged, built):
    address, path, _ = logged
    y = infer(address, ROWS, "client-id-1")
    status, csv_answer, _ = call((address,), "POST", "/invocations",
                                 ",".join(FEATURES) + "\n"
                                 + ",".join(map(repr, ROWS[0].tolist())),
                                 content_type="text/csv")
    assert status == 200
    logged_rows = lines(path, 4)
    version = store.load_model(built["quantized"]).version
    for i, line in enumerate(logged_rows[:3]):
        assert line == {"time": line["time"], "request_id": "client-id-1", "model": "quantized",
                        "version": version, **dict(zip(FEATURES, ROWS[i].tolist())),
                        "prediction": y[i]}
    assert logged_rows[3]["prediction"] == csv_answer["predictions"][0]
    assert logged_rows[3]["request_id"] not in ("", "client-id-1")  # the server's own


def test_predict_and_drift_read_the_log_as_it_is(logged, built, tmp_path, capsys):
    address, path, _ = logged
    X = store.load_split(built["split"]).arrays["X_test"][:500]
    y = infer(address, X)
    lines(path, len(X))
    replay = subprocess.run([sys.executable, "-m", "housing", "predict", "--model",
                             str(built["quantized"]), "--input", str(path)],
                            capture_output=True, text=True, cwd=ROOT, env=plain_env())
    assert [float(v) for v in replay.stdout.split()] == y  # bit for bit
    rows = tmp_path / "rows.csv"
    rows.write_text(",".join(FEATURES) + "\n"
                    + "\n".join(",".join(map(repr, r)) for r in X.tolist()) + "\n")
    reports = []
    for source in (path, rows):
        drift.main(["--model", str(built["quantized"]), "--data", str(built["split"]),
                    "--input", str(source)])
        reports.append(capsys.readouterr())
    assert reports[0] == reports[1]


def test_a_sampled_share_of_rows_is_logged(built, tmp_path):
    port = free_port()
    path = tmp_path / "requests.jsonl"
    proc = start(built, port, "--log-inputs", str(path), env={"HOUSING_LOG_SAMPLE": "0.25"})
    try:
        X = np.resize(ROWS, (4000, 8))
        for part in np.split(X, 8):
            infer(f"127.0.0.1:{port}", part)
        time.sleep(0.5)  # the last turn's lines
        count = len(path.read_text().splitlines())
    finally:
        stop(proc)
    # binomial(4000, 0.25): mean 1000, standard deviation 27.4; five of them either side
    assert 1000 - 137 <= count <= 1000 + 137, count


@pytest.mark.parametrize("setting, message", [
    (["--log-inputs", "/nonexistent/requests.jsonl"],
     "housing serve: error: /nonexistent/requests.jsonl: cannot write the request log (No "
     "such file or directory); expected a file in a writable folder (--log-inputs)\n"),
    (["--log-sample", "0"],
     "housing serve: error: argument --log-sample: expected a share above 0 and at most 1, "
     "got '0' (see --help)\n"),
])
def test_a_log_that_cannot_be_written_stops_start_up(built, setting, message):
    run = subprocess.run([sys.executable, "-m", "housing", "serve", "--model",
                          f"q={built['quantized']}", "--default", "q", "--port",
                          str(free_port()), *setting], capture_output=True, text=True,
                         cwd=ROOT, env=plain_env(), timeout=60)
    assert (run.returncode, run.stderr) == (2, message)


def test_a_fifo_nobody_reads_is_refused_at_start_rather_than_waited_on(built, tmp_path):
    fifo = tmp_path / "requests.jsonl"
    os.mkfifo(fifo)
    run = subprocess.run([sys.executable, "-m", "housing", "serve", "--model",
                          f"q={built['quantized']}", "--default", "q", "--port",
                          str(free_port()), "--log-inputs", str(fifo)], capture_output=True,
                         text=True, cwd=ROOT, env=plain_env(), timeout=60)
    assert (run.returncode, run.stderr) == (2, (
        f"housing serve: error: {fifo}: cannot write the request log (No such device or "
        f"address); expected a file in a writable folder (--log-inputs)\n"))


def test_a_full_disk_is_said_once_and_no_client_notices(built):
    # /dev/full: every write fails with ENOSPC, as on a full filesystem
    port = free_port()
    proc = start(built, port, "--log-inputs", "/dev/full")
    try:
        for _ in range(20):
            infer(f"127.0.0.1:{port}", ROWS)
        time.sleep(0.3)
    finally:
        status, out, err = stop(proc)
    assert status == 0
    assert err == ("housing serve: /dev/full: the request log cannot be written (No space "
                   "left on device); rows go unlogged, serving goes on\n")
    assert out.count(" 200 3 ") == 20


def test_a_deleted_folder_is_said_once_and_logging_resumes_when_it_is_back(logged):
    address, path, proc = logged
    infer(address, ROWS)
    lines(path, 3)
    path.unlink()
    path.parent.rmdir()
    for _ in range(5):
        infer(address, ROWS)
    time.sleep(0.3)
    path.parent.mkdir()
    infer(address, ROWS, "after")
    assert [line["request_id"] for line in lines(path, 3)] == ["after"] * 3
    status, _, err = stop(proc)
    assert status == 0
    assert err == (f"housing serve: {path}: the request log cannot be written (No such file "
                   f"or directory); rows go unlogged, serving goes on\n"
                   f"housing serve: {path}: the request log is written again\n")
