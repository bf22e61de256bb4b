"""deploy/monitoring/ against a real Prometheus: promtool's checks and unit tests of every
rule, then a Prometheus started here scraping a live ``housing serve`` each second, its
PSI held to ``housing drift``'s on the same rows, its alerts watched as drift arrives,
and every query of the dashboard run in it."""
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
import urllib.parse
import urllib.request

import pytest

from housing import drift, store
from housing.config import ROOT
from housing.serving import oip

from repo import free_port
from serving import start, stop

MONITORING = ROOT / "deploy" / "monitoring"
TOOL = ROOT / "tests" / "tools" / "monitoring.py"
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed: apt-get install prometheus")
needs_prometheus = pytest.mark.skipif(
    PROMETHEUS is None, reason="Prometheus is not installed: apt-get install prometheus")
HOLD = 3  # seconds every alert holds in the tests' rules, pending before it fires


def tool(*args):
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT)}, timeout=60)


def test_the_committed_files_are_what_the_tool_writes():
    run = tool("--check")
    assert (run.returncode, run.stderr) == (0, "")


def test_a_hand_edit_is_caught(tmp_path):
    shutil.copytree(MONITORING, tmp_path / "m")
    rules = tmp_path / "m" / "rules.yml"
    rules.write_text(rules.read_text().replace("> 0.2", "> 0.3"))
    run = tool("--check", "--out", str(tmp_path / "m"))
    assert run.returncode == 1
    assert run.stderr == (f"monitoring: rules.yml in {tmp_path / 'm'} differ from what "
                          f"tests/tools/monitoring.py writes; run make monitoring\n")


@needs_promtool
def test_promtool_checks_the_rules_and_runs_their_unit_tests():
    check = subprocess.run([PROMTOOL, "check", "rules", MONITORING / "rules.yml"],
                           capture_output=True, text=True)
    assert check.returncode == 0 and "SUCCESS: 15 rules found" in check.stdout, check.stdout
    unit = subprocess.run([PROMTOOL, "test", "rules", "rules_test.yml"],
                          cwd=ROOT / "tests" / "monitoring", capture_output=True, text=True)
    assert unit.returncode == 0 and "SUCCESS" in unit.stdout, unit.stdout + unit.stderr


# --- a live server and a real Prometheus --------------------------------------------

def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


class Prometheus:
    """A Prometheus on a free port, its storage a temporary folder, scraping ``target``
    each second and evaluating the tests' rules each second."""

    def __init__(self, target, folder):
        self.port = free_port()
        rules = folder / "rules.yml"
        run = tool("--rules", str(rules), "--window", "5m", "--hold", f"{HOLD}s")
        assert run.returncode == 0, run.stderr
        config = folder / "prometheus.yml"
        config.write_text(json.dumps({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules)],
            "scrape_configs": [{"job_name": "housing",
                                "static_configs": [{"targets": [target]}]}]}))
        self.log = open(folder / "prometheus.log", "w+")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={folder / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=self.log)
        self.wait_for(lambda: self.ready(), "ready")

    def ready(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1):
                return True
        except OSError:
            assert self.proc.poll() is None, self.logged()
            return False

    def logged(self):
        self.log.seek(0)
        return self.log.read()[-3000:]

    def query(self, expr):
        """The result of an instant query; an AssertionError naming the query if it fails."""
        answer = get(f"http://127.0.0.1:{self.port}/api/v1/query?"
                     + urllib.parse.urlencode({"query": expr}))
        assert answer["status"] == "success", (expr, answer)
        return answer["data"]["result"]

    def by(self, expr, label):
        """An instant vector as {the value of ``label``: float}."""
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(expr)}

    def alerts(self):
        return get(f"http://127.0.0.1:{self.port}/api/v1/alerts")["data"]["alerts"]

    def wait_for(self, condition, what, seconds=60):
        """Poll ``condition`` until it holds; an AssertionError naming ``what`` after
        ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        raise AssertionError(f"Prometheus: {what} did not happen in {seconds} s; its log:\n"
                             f"{self.logged()}")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="module")
def watched(built):
    """(server address, Prometheus) of a server of the quantized model under two names:
    ``healthy`` gets the test split's rows, ``drifted`` the same with MedInc x 1.5."""
    if PROMETHEUS is None:
        pytest.skip("Prometheus is not installed: apt-get install prometheus")
    port = free_port()
    proc = start(built, port, "--default", "healthy",
                 models={"healthy": "quantized", "drifted": "quantized"})
    folder = tempfile.TemporaryDirectory()
    try:
        prometheus = Prometheus(f"127.0.0.1:{port}", Path(folder.name))
        try:
            # both models' series scraped at zero twice before any row: a window then sees
            # every bin from the same first sample, as PSI's ratios need
            prometheus.wait_for(lambda: len(prometheus.query(
                'count_over_time(housing_feature_bin_rows_total{feature="MedInc",bin="0"}[1m]) >= 2')) == 2,
                "two scrapes of the zero counters")
            yield f"127.0.0.1:{port}", prometheus
        finally:
            prometheus.stop()
    finally:
        status, _, err = stop(proc)
        folder.cleanup()
        assert status == 0 and "Traceback" not in err, err


def send(address, model, X, batch=250):
    """X's rows to ``model``'s infer route, ``batch`` rows a request."""
    for start_row in range(0, len(X), batch):
        body = json.dumps(oip.request_for(X[start_row:start_row + batch])).encode()
        request = urllib.request.Request(f"http://{address}/v2/models/{model}/infer", body,
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as r:
            assert r.status == 200


def expected_psi(built, X):
    """housing drift's PSI of each feature for rows X, by name."""
    model = store.load_model(built["quantized"])
    split = store.load_split(built["split"])
    report = drift.compare(model.ranges, model.features, split.arrays["X_train"], X)
    return {f.name: f.psi for f in report.features}


def psi_matches(prometheus, model, expected):
    """Whether Prometheus's PSI of each feature of ``model`` is ``expected``'s, within 1e-9."""
    got = prometheus.by(f'housing:feature_psi:5m{{model="{model}"}}', "feature")
    return got.keys() == expected.keys() and all(
        abs(got[name] - expected[name]) <= 1e-9 for name in expected)


def test_the_test_split_has_not_drifted_and_nothing_alerts(watched, built):
    address, prometheus = watched
    X = store.load_split(built["split"]).arrays["X_test"]
    send(address, "healthy", X)
    expected = expected_psi(built, X)
    assert max(expected.values()) < 0.1
    prometheus.wait_for(lambda: psi_matches(prometheus, "healthy", expected),
                        "PSI equal to housing drift's within 1e-9")
    time.sleep(HOLD + 1)  # long enough for any alert's condition to have held
    assert prometheus.alerts() == []
    outside = prometheus.by('housing:rows_outside_share:5m{model="healthy"}', "model")
    assert outside["healthy"] == pytest.approx(
        store.load_model(built["quantized"]).ranges.rows_outside(X).mean(), abs=1e-12)


def test_medinc_half_as_large_again_alerts_pending_then_firing(watched, built):
    address, prometheus = watched
    X = store.load_split(built["split"]).arrays["X_test"].copy()
    X[:, 0] *= 1.5
    send(address, "drifted", X)
    expected = expected_psi(built, X)
    assert expected["MedInc"] > 0.2
    states = []

    def drift_alert():
        found = [a for a in prometheus.alerts() if a["labels"]["alertname"] == "HousingInputDrift"]
        if found:
            states.append(found[0]["state"])
        return "firing" in states
    prometheus.wait_for(drift_alert, "the drift alert firing")
    assert states[0] == "pending"
    alert = [a for a in prometheus.alerts() if a["labels"]["alertname"] == "HousingInputDrift"]
    assert len(alert) == 1 and alert[0]["labels"]["model"] == "drifted"
    assert alert[0]["labels"]["feature"] == "MedInc"
    assert alert[0]["annotations"]["summary"] == (
        f"Model drifted: the inputs' MedInc has drifted from the training data (PSI "
        f"{expected['MedInc']:.3f} over 5m, above 0.2)")
    assert psi_matches(prometheus, "drifted", expected)
    assert not [a for a in prometheus.alerts() if a["labels"].get("model") == "healthy"]


def test_every_dashboard_query_runs_on_metrics_the_server_exports(watched):
    address, prometheus = watched
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as r:
        exported = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", r.read().decode(), re.M))
    recorded = set(re.findall(r'record: "([^"]+)"', (MONITORING / "rules.yml").read_text()))
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    queries.append(re.fullmatch(r"label_values\((\w+), \w+\)",
                                dashboard["templating"]["list"][1]["query"]).group(1))
    assert len(queries) == 10
    for query in queries:
        expr = query.replace("$model", ".*")
        names = set(re.findall(r"\b(housing[a-z_:0-9]*)", expr))
        assert names and names <= exported | recorded, (query, names - exported - recorded)
        assert prometheus.query(expr) != [], query
