"""deploy/, checked offline as a cluster's API server would check it: rendered by
kustomize, the Kubernetes kinds against a pinned release's schemas (kubernetes-validate,
strict), KServe's kinds against the CRDs KServe publishes (../shared/kserve), and the
values that must be the image's own read from the Dockerfile and the server."""
import json
import os
import re
import shutil
import subprocess
import urllib.request

import pytest

from housing.serving import server as serve
from housing.config import ROOT
from housing.serving.served import Served
from housing.serving.routes import table

from repo import free_port
from serving import start, stop

DEPLOY = ROOT / ".venv-deploy" / "bin" / "python"
KSERVE_CRDS = ROOT.parent / "shared" / "kserve"
KUBERNETES = "1.34.0"  # the release whose schemas the Kubernetes kinds are checked against

pytestmark = [
    pytest.mark.skipif(shutil.which("kubectl") is None,
                       reason="kubectl is not installed: apt-get install kubectl"),
    pytest.mark.skipif(not DEPLOY.exists(),
                       reason="kubernetes-validate is not installed: make deploy-tools"),
]

# In .venv-deploy: the rendered documents as JSON, after kubernetes-validate (strict) on the
# Kubernetes kinds and each KServe kind against its CRD's schema, where a field the schema
# does not name is an error too, as a strict API server makes it.
CHECK = r"""
import json, pathlib, subprocess, sys, tempfile
import jsonschema, yaml
rendered, crds, version = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
docs = list(yaml.safe_load_all(open(rendered)))
schemas = {}
for path in crds.glob("serving.kserve.io_*.yaml"):
    crd = yaml.safe_load(open(path))
    for v in crd["spec"]["versions"]:
        schemas[(crd["spec"]["group"] + "/" + v["name"], crd["spec"]["names"]["kind"])] = \
            v["schema"]["openAPIV3Schema"]
errors = []
def unknown(value, schema, where):
    if schema.get("x-kubernetes-preserve-unknown-fields") or not isinstance(value, dict | list):
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            unknown(item, schema.get("items", {}), f"{where}[{i}]")
        return
    props = schema.get("properties")
    if props is None:
        return
    for key, item in value.items():
        if key not in props:
            errors.append(f"{where}.{key}: a field its CRD does not know")
        else:
            unknown(item, props[key], f"{where}.{key}")
kubernetes = []
for doc in docs:
    key = (doc["apiVersion"], doc["kind"])
    if key in schemas:
        for e in jsonschema.Draft7Validator(schemas[key]).iter_errors(doc):
            errors.append(f"{doc['kind']}: {e.message}")
        unknown(doc, schemas[key], doc["kind"])
    else:
        kubernetes.append(doc)
with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
    yaml.safe_dump_all(kubernetes, f)
    run = subprocess.run([pathlib.Path(sys.executable).parent / "kubernetes-validate",
                          "--strict", "--quiet", "-k", version, f.name],
                         capture_output=True, text=True)
    if run.returncode:
        errors.append(run.stdout + run.stderr)
print(json.dumps({"docs": docs, "errors": errors, "kubernetes": len(kubernetes)}))
"""


def checked(tmp_path, deploy=ROOT / "deploy"):
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(subprocess.run(["kubectl", "kustomize", str(deploy)], check=True,
                                       capture_output=True, text=True).stdout)
    run = subprocess.run([DEPLOY, "-c", CHECK, rendered, KSERVE_CRDS, KUBERNETES],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return checked(tmp_path_factory.mktemp("deploy"))


def by_kind(rendered, kind):
    return [d for d in rendered["docs"] if d["kind"] == kind]


def test_every_rendered_object_validates(rendered):
    assert rendered["errors"] == []
    assert sorted(d["kind"] for d in rendered["docs"]) == [
        "Deployment", "HorizontalPodAutoscaler", "InferenceService", "PodDisruptionBudget",
        "Service", "ServingRuntime"]
    assert rendered["kubernetes"] == 4


@pytest.mark.parametrize("mistake, message", [
    (("deployment.yaml", "  replicas: 2", "  replica: 2"), "replica"),
    (("kserve/servingruntime.yaml", "  protocolVersions:", "  protocolVersionz:"),
     "ServingRuntime.spec.protocolVersionz: a field its CRD does not know"),
])
def test_the_checks_catch_a_misspelt_field(tmp_path, mistake, message):
    copy = tmp_path / "deploy"
    shutil.copytree(ROOT / "deploy", copy)
    name, old, new = mistake
    text = (copy / name).read_text()
    assert old in text
    (copy / name).write_text(text.replace(old, new))
    errors = checked(tmp_path, copy)["errors"]
    assert errors and message in " ".join(errors)


def dockerfile(instruction):
    """The argument of the Dockerfile's one ``instruction`` (EXPOSE, USER, CMD)."""
    found = re.findall(rf"^{instruction} (.+)$", (ROOT / "Dockerfile").read_text(), re.M)
    assert len(found) == 1
    return found[0]


def containers(rendered):
    deployment = by_kind(rendered, "Deployment")[0]
    runtime = by_kind(rendered, "ServingRuntime")[0]
    return [deployment["spec"]["template"]["spec"]["containers"][0],
            runtime["spec"]["containers"][0]]


def test_the_image_is_named_once_and_set_everywhere(rendered):
    text = (ROOT / "deploy" / "kustomization.yaml").read_text()
    image = re.search(r"newName: (\S+)\n\s+newTag: (\S+)", text)
    from housing import __version__
    assert image.group(2) == __version__
    for container in containers(rendered):
        assert container["image"] == f"{image.group(1)}:{image.group(2)}"


def test_port_user_and_metrics_folder_are_the_images(rendered):
    port = int(dockerfile("EXPOSE"))
    user = int(dockerfile("USER").split(":")[0])
    assert f'"--port", "{port}"' in dockerfile("CMD")
    metrics_variable = "HOUSING_" + "metrics-dir".upper().replace("-", "_")
    assert "--metrics-dir" in serve.parser().format_help()
    deployment = by_kind(rendered, "Deployment")[0]["spec"]["template"]["spec"]
    assert deployment["securityContext"]["runAsUser"] == user
    for container in containers(rendered):
        ports = [p["containerPort"] for p in container["ports"]]
        assert ports == [port]
        env = {e["name"]: e["value"] for e in container["env"]}
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        assert env[metrics_variable] == mounts["metrics"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert by_kind(rendered, "ServingRuntime")[0]["spec"]["containers"][0][
        "securityContext"]["runAsUser"] == user


def probe_paths(rendered):
    container = containers(rendered)[0]
    return [container[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")]


def test_probe_paths_are_the_servers_health_routes(rendered, built):
    served = Served.load([f"float={built['float']}"], "float")
    health = [r for r in table(served, None) if r.name == "health" and r.method == "GET"]
    for path in probe_paths(rendered):
        assert any(r.pattern.fullmatch(path) for r in health), path


def test_a_live_server_answers_every_probe_path(rendered, built):
    port = free_port()
    proc = start(built, port)
    try:
        for path in probe_paths(rendered):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                assert r.status == 200
    finally:
        assert stop(proc)[0] == 0


def test_the_grace_period_covers_gunicorns(rendered):
    from housing.serving.server import GRACE
    spec = by_kind(rendered, "Deployment")[0]["spec"]["template"]["spec"]
    assert spec["terminationGracePeriodSeconds"] > GRACE


# In .venv-deploy: the documents of a rendered overlay and of deploy/monitoring/rules.yml,
# as JSON.
PARSE = r"""
import json, sys, yaml
print(json.dumps({"docs": list(yaml.safe_load_all(open(sys.argv[1]))),
                  "rules": yaml.safe_load(open(sys.argv[2]))}))
"""


def test_the_monitoring_component_scrapes_the_service_and_ships_the_rules(tmp_path):
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    deploy = os.path.relpath(ROOT / "deploy", overlay)  # kustomize takes relative paths only
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources: [{deploy}]\ncomponents: [{deploy}/monitoring]\n")
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(subprocess.run(["kubectl", "kustomize", str(overlay)], check=True,
                                       capture_output=True, text=True).stdout)
    rules = ROOT / "deploy" / "monitoring" / "rules.yml"
    run = subprocess.run([DEPLOY, "-c", PARSE, rendered, rules], capture_output=True, text=True,
                         timeout=60, check=True)
    parsed = json.loads(run.stdout)
    kinds = {d["kind"]: d for d in parsed["docs"]}
    service = kinds["Service"]
    monitor = kinds["ServiceMonitor"]["spec"]
    selector = monitor["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    ports = [p["name"] for p in service["spec"]["ports"]]
    assert [e["port"] for e in monitor["endpoints"]] == ports
    assert monitor["endpoints"][0]["path"] == "/metrics"
    # the operator's rule holds the very groups a plain Prometheus server loads
    assert kinds["PrometheusRule"]["spec"]["groups"] == parsed["rules"]["groups"]
