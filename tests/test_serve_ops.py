"""Operating the server: logs, metrics, settings, workers, slow clients and start-up errors."""
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from housing import store
from housing.config import ROOT
from repo import free_port, plain_env, slow_clients
from serving import ROWS, answered, call, exchange, infer_body, metric, start, stop



def listening(port):
    """How many sockets listen on ``port``, from the kernel's table (state 0A)."""
    with open("/proc/net/tcp") as f:
        return sum(int(row[1].split(":")[1], 16) == port and row[3] == "0A"
                   for row in (line.split() for line in list(f)[1:]))


def test_each_request_gets_one_access_log_line_and_sigterm_finishes_in_flight_work(built):
    port = free_port()
    proc = start(built, port)
    server = (f"127.0.0.1:{port}", proc)
    call(server, "GET", "/v2/health/live")
    call(server, "POST", "/v2/models/float/infer", infer_body())
    # a request in flight: headers and half the body sent, then SIGTERM, then the rest
    body = json.dumps(infer_body()).encode()
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(b"POST /v2/models/float/infer HTTP/1.1\r\nHost: x\r\nContent-Type: "
                 b"application/json\r\nContent-Length: " + str(len(body)).encode() +
                 b"\r\n\r\n" + body[:20])
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    conn.sendall(body[20:])
    answer = conn.recv(65536).decode()
    conn.close()
    assert answer.startswith("HTTP/1.1 200 OK")
    status, out, err = stop(proc)
    assert status == 0 and "Traceback" not in err
    lines = out.splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.fullmatch(stamp + r" housing serve: float \(version [0-9a-f]{12}\), quantized "
                        r"\(version [0-9a-f]{12}\) on http://127\.0\.0\.1:\d+; settings: host="
                        r"127\.0\.0\.1 .* max_body=1048576 max_held=4194304 body_timeout=1\.0 .*", lines[0])
    assert re.fullmatch(stamp + r" housing serve: worker \d+ stopped after \d+ requests", lines[-2])
    assert re.fullmatch(stamp + r" housing serve: stopped", lines[-1])
    # one line a request, the health probe (which succeeded) left out: time, client,
    # request id, method, path, status, rows, milliseconds
    requests = [line.split() for line in lines[1:-2]]
    assert [r[3:7] for r in requests] == [["POST", "/v2/models/float/infer", "200", "3"]] * 2
    assert all(re.fullmatch(stamp, r[0]) and r[1] == "127.0.0.1" and re.fullmatch(
        "[0-9a-f]{20}", r[2]) and r[7].endswith("ms") and len(r) == 8 for r in requests)
    assert requests[0][2] != requests[1][2]


def test_request_ids_json_logs_and_failed_probes(built):
    port = free_port()
    proc = start(built, port, "--log-format", "json")
    server = (f"127.0.0.1:{port}", proc)
    _, _, headers = call(server, "POST", "/v2/models/float/infer", infer_body(),
                         headers={"X-Request-ID": "req-42"})
    assert headers["X-Request-ID"] == "req-42"
    forged = "a\nb"  # not fit for a log line: a new id instead
    assert call(server, "GET", "/version", headers={"X-Request-ID": "x" * 200})[2][
        "X-Request-ID"] != "x" * 200
    call(server, "GET", "/v2/health/live")
    call(server, "GET", "/v2/models/forest/ready")
    call(server, "GET", "/v2/health/live/x%E2%80%A8")
    status, out, err = stop(proc)
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["event"] for line in lines] == ["start", "request", "request", "request",
                                                 "request", "stop", "stopped"]
    assert lines[0]["models"].keys() == {"float", "quantized"}
    assert lines[0]["settings"]["log_format"] == "json"
    first = lines[1]
    assert {k: first[k] for k in ("client", "request_id", "method", "path", "status", "rows")} \
        == {"client": "127.0.0.1", "request_id": "req-42", "method": "POST",
            "path": "/v2/models/float/infer", "status": 200, "rows": 3}
    assert [(line["path"], line["status"]) for line in lines[3:5]] == [
        ("/v2/models/forest/ready", 404), ("/v2/health/live/x\u2028", 404)]
    assert forged and lines[-2]["requests"] >= 5  # and start-up's readiness probes


def test_sigterm_ends_the_server_within_docker_stops_10_s_with_idle_connections_open(built):
    """Connections that never send a request, which gunicorn's asgi worker does not time
    out, are ended at the grace period (8 s), before docker stop would kill the server."""
    port = free_port()
    proc = start(built, port, "--workers", "2")
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    try:
        status = proc.wait(timeout=10)  # docker stop's default, then SIGKILL
    finally:
        for s in idle:
            s.close()
    out = stop(proc)[1]
    assert status == 0 and out.endswith(" housing serve: stopped\n")


def test_help_lists_every_variable_and_bad_values_stop_start_up(built):
    run = subprocess.run([sys.executable, "-m", "housing", "serve", "--help"],
                         capture_output=True, text=True, cwd=ROOT, env=plain_env())
    for flag in re.findall(r"^  (--[a-z-]+)", run.stdout, re.M):
        if flag not in ("--help", "--model"):
            assert f"HOUSING_{flag[2:].upper().replace('-', '_')}" in run.stdout, flag
    run = subprocess.run([sys.executable, "-m", "housing", "serve"], capture_output=True,
                         text=True, cwd=ROOT, env=dict(plain_env(), HOUSING_LOG_FORMAT="xml"))
    assert (run.returncode, run.stderr) == (2, "housing serve: error: HOUSING_LOG_FORMAT: "
                                               "expected text or json, got 'xml'\n")


def test_metrics_count_every_request_through_both_workers_and_never_go_back(built, tmp_path):
    port = free_port()
    proc = start(built, port, "--workers", "2", "--metrics-dir", str(tmp_path))
    server = (f"127.0.0.1:{port}", proc)
    try:
        deadline = time.monotonic() + 15
        while listening(port) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # both workers listening before the requests
        def scrape():
            status, data, headers = exchange(server, "GET", "/metrics")
            assert status == 200 and headers["Content-Type"].startswith("text/plain")
            return data.decode()
        X = ROWS.copy()
        X[0, 4] = 1e7  # one row outside the training range a request
        before = scrape()
        for _ in range(40):  # a new connection each: the kernel spreads them over both
            assert call(server, "POST", "/v2/models/quantized/infer",
                        infer_body(data=X.tolist()))[0] == 200
        for _ in range(5):
            assert call(server, "POST", "/invocations", {"instances": X.tolist()})[0] == 200
        assert call(server, "GET", "/v2/models/forest")[0] == 404
        # a worker writes its counts at the end of the loop turn that answered, which may
        # come after the client has its answer: scrape until the last request shows
        missing = dict(route="metadata", model="", status="404")
        after = scrape()
        deadline = time.monotonic() + 10
        while metric(after, "housing_requests_total", **missing) == 0 and (
                time.monotonic() < deadline):
            time.sleep(0.05)
            after = scrape()
        # both workers counted (the master's file holds the series it made at zero)
        counted = {path.name for path in tmp_path.glob("counter_*.db")}
        assert len(counted - {f"counter_{proc.pid}.db"}) == 2
        infer = dict(route="infer", model="quantized", protocol="oip", status="200")
        assert metric(after, "housing_requests_total", **infer) - metric(
            before, "housing_requests_total", **infer) == 40
        assert metric(after, "housing_requests_total", route="invocations", model="quantized",
                      protocol="mlflow", status="200") == 5
        assert metric(after, "housing_requests_total", **missing) == 1
        assert metric(after, "housing_rows_predicted_total", model="quantized") == 135
        assert metric(after, "housing_rows_outside_training_range_total",
                      model="quantized") == 45
        assert metric(after, "housing_request_duration_seconds_count", route="infer") == 40
        assert metric(after, "housing_requests_in_flight") == 1  # the scrape itself
        assert metric(after, "process_resident_memory_bytes") > 0
        # a worker killed and replaced: its counts stay, nothing goes backwards
        worker = int(open(f"/proc/{proc.pid}/task/{proc.pid}/children").read().split()[0])
        os.kill(worker, signal.SIGKILL)
        time.sleep(1)
        assert metric(scrape(), "housing_requests_total", **infer) == metric(
            after, "housing_requests_total", **infer)
    finally:
        assert stop(proc)[0] == 0


def test_each_worker_listens_on_a_socket_of_its_own(built):
    # reuse_port: the kernel spreads new connections over the workers' sockets, rather
    # than whichever worker wakes first taking them from one shared socket
    port = free_port()
    proc = start(built, port, "--workers", "2")
    try:
        deadline = time.monotonic() + 15
        while listening(port) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listening(port) == 2
    finally:
        assert stop(proc)[0] == 0


def test_slow_and_stalled_clients_never_keep_a_new_one_waiting(built):
    port = free_port()
    proc = start(built, port, "--workers", "2")
    try:
        with slow_clients(port, json.dumps(infer_body()).encode()) as trickle:
            for _ in range(3):
                trickle()
                assert answered(port) == "HTTP/1.1 200 OK"
                time.sleep(0.5)
    finally:
        status, _, err = stop(proc)
    assert status == 0 and "Traceback" not in err, err


def test_an_idle_kept_alive_connection_is_closed_after_the_keepalive(built):
    port = free_port()
    proc = start(built, port, "--keepalive", "1")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 200 OK")
            assert s.recv(4096) == b""  # closed by the server, within the socket's 10 s
    finally:
        assert stop(proc)[0] == 0


def test_a_path_cannot_forge_a_log_line(built):
    port = free_port()
    proc = start(built, port)
    call((f"127.0.0.1:{port}",), "GET", "/x%0AGET%20/v2%20200%200%200.01ms%1b[2J")
    out = stop(proc)[1]
    line = out.splitlines()[-3]  # the last two: the worker's stop line, the server's
    time_, client, request_id, *fields = line.split(" ")
    # one field for the path, its spaces escaped too: a log parser splits on spaces
    assert fields[:4] == ["GET", "/x\\nGET\\u0020/v2\\u0020200\\u00200\\u00200.01ms\\u001b[2J",
                          "404", "0"]
    assert len(fields) == 5


def test_a_request_id_cannot_forge_a_log_line(built):
    port = free_port()
    proc = start(built, port)
    status, _, headers = call((f"127.0.0.1:{port}",), "GET", "/version",
                              headers={"X-Request-ID": "abc GET /v2 200"})
    out = stop(proc)[1]
    line = out.splitlines()[-3]
    request_id = line.split(" ")[2]
    assert status == 200
    assert request_id == headers["x-request-id"] != "abc"  # a new id, not the client's
    assert re.fullmatch(r"[0-9a-f]{20}", request_id)
    assert len(line.split(" ")) == 8


@pytest.mark.parametrize("argv, env, message", [
    (["--port", "70000"], {}, "argument --port: expected a port, 1 to 65535, got '70000' "
                              "(see --help)"),
    ([], {"HOUSING_BODY_TIMEOUT": "soon"}, "HOUSING_BODY_TIMEOUT: expected seconds, above 0 "
                                           "and at most 86400, got 'soon'"),
    ([], {"HOUSING_MAX_BODY": "-1"}, "HOUSING_MAX_BODY: expected a whole number of at least "
                                     "1, got '-1'"),
    (["--body-timeout", "nan"], {}, "argument --body-timeout: expected seconds, above 0 and "
                                    "at most 86400, got 'nan' (see --help)"),
    # a name is a segment of the paths it is served on: /v1/models/{model}:predict
    (["--model", "v1:predict=m.npz"], {}, "--model: a model's name is 1 to 64 letters, "
                                          "digits, '.', '_' or '-', from a letter or digit (it "
                                          "is a segment of the paths it is served on), got "
                                          "'v1:predict'"),
])
def test_bad_settings_stop_start_up_with_one_line(built, argv, env, message):
    run = subprocess.run([sys.executable, "-m", "housing", "serve", *argv, "--model",
                          f"float={built['float']}", "--default", "float"], capture_output=True,
                         text=True, cwd=ROOT, timeout=30, env=dict(plain_env(), **env))
    assert (run.returncode, run.stdout, run.stderr) == (2, "", f"housing serve: error: "
                                                               f"{message}\n")


def test_a_flag_wins_over_the_environment(built):
    port = free_port()
    proc = start(built, port, "--max-body", "100", env={"HOUSING_MAX_BODY": "100000"})
    try:
        status, out, _ = call((f"127.0.0.1:{port}",), "POST", "/invocations", "x" * 101,
                              "text/csv")
        assert (status, out) == (413, {"error_code": "MAX_READ_SIZE_EXCEEDED", "message": "a body of 101 "
                                       "bytes; the limit is 100 (--max-body)"})
    finally:
        assert stop(proc)[0] == 0


def test_a_bad_model_file_stops_start_up_with_one_line(tmp_path):
    bad = tmp_path / "model.npz"
    bad.write_text("not a model")
    run = subprocess.run([sys.executable, "-m", "housing", "serve", "--port", str(free_port()),
                          "--model", f"float={bad}"], capture_output=True, text=True, cwd=ROOT,
                         timeout=30)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == (f"housing serve: error: {bad}: not an .npz file (pickle or unknown "
                          f"format); expected a model\n")


def test_a_port_in_use_is_one_line(built):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        run = subprocess.run([sys.executable, "-m", "housing", "serve", "--port", str(port),
                              "--model", f"float={built['float']}", "--default", "float"],
                             capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert run.returncode == 2 and run.stderr == (
        f"housing serve: error: 127.0.0.1:{port}: cannot listen (Address already in use); "
        f"choose another --port (PORT= for make serve)\n")


def test_serve_strict_refuses_rows_outside_the_training_range(built):
    port = free_port()
    proc = start(built, port, env={"HOUSING_STRICT": "true"})
    try:
        X = ROWS.copy()
        X[0, 4] = 1e7
        model = store.load_model(built["float"])
        status, out, _ = call((f"127.0.0.1:{port}",), "POST", "/v2/models/float/infer",
                              infer_body(data=X.tolist()))
        assert (status, out) == (400, {"error": f"row 1, column 'Population': expected a "
                                                f"value within the training range, "
                                                f"{model.ranges.min[4]:g} to {model.ranges.max[4]:g}, got "
                                                f"1e+07"})
    finally:
        assert stop(proc)[0] == 0


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 6 MiB tmpfs of its own (mounting needs root, as CI and the image build have)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m,mode=755", "tmpfs", str(mount)],
                   check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_metrics_folder_that_fills_up_stops_the_metrics_not_the_worker(built, small_tmpfs):
    port = free_port()
    proc = start(built, port, "--metrics-dir", str(small_tmpfs / "metrics"))
    server = (f"127.0.0.1:{port}", proc)
    try:
        assert call(server, "GET", "/v2/models/float")[0] == 200
        with open(small_tmpfs / "filler", "wb") as filler:  # every byte left, taken
            try:
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
            except OSError:
                pass
        # new labels (models, routes, statuses) each grow a file past the full disk's end
        statuses = [call(server, "POST", f"/v2/models/{name}/infer", infer_body())[0]
                    for name in ("float", "quantized", "forest")] + [
                    call(server, "GET", path)[0] for path in ("/v2", "/v1/models", "/nowhere")]
        statuses += [call(server, "GET", "/metrics")[0]]
    finally:
        status, _, err = stop(proc)
    assert statuses == [200, 200, 404, 200, 200, 404, 503]
    assert status == 0 and err.count("the metrics folder cannot be written (No space left "
                                      "on device); metrics stop") == 1


def test_sighup_reloads_a_model_file_replaced_on_disk_or_says_why_not(built, tmp_path):
    model = tmp_path / "m.npz"
    model.write_bytes(built["float"].read_bytes())
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "housing", "serve", "--port", str(port),
                             "--workers", "1", "--model", f"m={model}", "--default", "m"],
                            cwd=ROOT, env=plain_env(), stdout=open(tmp_path / "out", "w"),
                            stderr=subprocess.STDOUT)
    server = (f"127.0.0.1:{port}", proc)

    def version(before=None):
        """The version served, once it is not ``before`` (new workers take a moment)."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                found = call(server, "GET", "/v2/models/m")[1]["versions"][0]
                if found != before:
                    return found
            except OSError:
                pass
            time.sleep(0.1)
        return before
    try:
        first = version()
        (tmp_path / "new.npz").write_bytes(built["quantized"].read_bytes())
        os.replace(tmp_path / "new.npz", model)
        proc.send_signal(signal.SIGHUP)
        second = version(first)
        model.write_bytes(b"not a model")
        proc.send_signal(signal.SIGHUP)
        time.sleep(2)  # new workers, which would serve a reloaded model
        third = version()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    digest = hashlib.sha256(built["quantized"].read_bytes()).hexdigest()[:12]
    assert first != second == third == digest
    out = (tmp_path / "out").read_text()
    assert f" housing serve: reloaded: m (version {digest})\n" in out
    assert (f" housing serve: reload refused ({model}: not an .npz file (pickle or unknown "
            f"format); expected a model); still serving m (version {digest})\n") in out


def test_drift_counters_are_the_rows_bins_and_the_predictions_histogram(built):
    """Two workers' counts summed, checked against a reference computed here: each value's
    bin by bisect over the model's deciles, each prediction's bucket by its bounds."""
    import bisect
    from prometheus_client.parser import text_string_to_metric_families
    port = free_port()
    proc = start(built, port, "--workers", "2")
    model = store.load_model(built["quantized"])
    X = store.load_split(built["split"]).arrays["X_test"][:300]
    try:
        answers = []
        for part in np.split(X, 6):  # new connections: the kernel spreads them over both
            status, body, _ = call((f"127.0.0.1:{port}",), "POST", "/v2/models/quantized/infer",
                                   infer_body(data=part.tolist(), shape=list(part.shape)))
            assert status == 200
            answers += body["outputs"][0]["data"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            _, text, _ = exchange((f"127.0.0.1:{port}",), "GET", "/metrics")
            families = {f.name: f for f in text_string_to_metric_families(text.decode())}
            count = [s.value for s in families["housing_prediction"].samples
                     if s.name == "housing_prediction_count" and s.labels["model"] == "quantized"]
            if count == [len(X)]:
                break
            time.sleep(0.05)
    finally:
        stop(proc)
    histogram = families["housing_prediction"]
    assert histogram.type == "histogram"
    samples = {(s.name, s.labels.get("le")): s.value for s in histogram.samples
               if s.labels["model"] == "quantized"}
    for bound in (0.0, 0.5, 1.0, 2.5, 5.0):
        assert samples[("housing_prediction_bucket", repr(bound))] == sum(y <= bound for y in answers)
    assert samples[("housing_prediction_bucket", "+Inf")] == len(answers)
    assert samples[("housing_prediction_sum", None)] == pytest.approx(sum(answers), rel=1e-12)
    bins = {(s.labels["feature"], int(s.labels["bin"])): s.value
            for s in families["housing_feature_bin_rows"].samples
            if s.labels["model"] == "quantized" and s.name.endswith("_total")}
    for j, feature in enumerate(model.features):
        deciles = model.ranges.deciles[:, j].tolist()
        expected = [0] * 10
        for x in X[:, j].tolist():
            expected[bisect.bisect_left(deciles, x)] += 1
        assert [bins[(feature, k)] for k in range(10)] == expected
    # the internal counts are shown only as the histogram
    assert "housing_prediction_by_bucket" not in families
