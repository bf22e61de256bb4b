"""deploy/monitoring/, written from one source: the recording rules and alerts below.

    python tests/tools/monitoring.py [--check] [--out deploy/monitoring]
    python tests/tools/monitoring.py --rules FILE --window 5m --hold 3s   (the tests' rules)

Writes the rules file a Prometheus server loads (rules.yml), the same groups as the
Prometheus Operator's PrometheusRule with a ServiceMonitor (a kustomize component), and
a Grafana dashboard (dashboard.json). ``--check`` fails when a committed file differs
from what this writes. PSI's constants are housing.drift's, so Prometheus and
``housing drift`` compute the same number.
"""
import argparse
import json
import sys
from pathlib import Path

from housing.drift import EXPECTED, FLOOR, PSI_THRESHOLD

OUT = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
WINDOWS = ("1h", "5m")  # PSI and shares over each: 1h for the alerts, 5m for a quick look
JOB = "housing"  # the scrape job: the Service's name, which the ServiceMonitor's job takes
OUTSIDE_SHARE = 0.05
CLIENT_ERROR_SHARE = 0.10
P99_SECONDS = 0.050
HEADER = "# Written by tests/tools/monitoring.py from its rules; edit them there, then make monitoring.\n"


def recording_rules(window):
    """PSI of each feature and the shares outside the training range, over ``window``."""
    bins = f"housing:feature_bin_rows:increase{window}"
    share = f"clamp_min(housing:feature_bin_share:{window}, {FLOOR!r})"
    return [
        {"record": bins,
         "expr": f"sum by (model, feature, bin) (increase(housing_feature_bin_rows_total[{window}]))"},
        {"record": f"housing:feature_bin_share:{window}",
         "expr": f"{bins} / on (model, feature) group_left sum by (model, feature) ({bins})"},
        {"record": f"housing:feature_psi:{window}",
         "expr": f"sum by (model, feature) (({share} - {EXPECTED!r}) * ln({share} / {EXPECTED!r}))"},
        {"record": f"housing:feature_outside_share:{window}",
         "expr": f"sum by (model, feature) (increase(housing_feature_rows_outside_training_range_total[{window}])) "
                 f"/ on (model) group_left sum by (model) (increase(housing_rows_predicted_total[{window}]))"},
        {"record": f"housing:rows_outside_share:{window}",
         "expr": f"sum by (model) (increase(housing_rows_outside_training_range_total[{window}])) "
                 f"/ sum by (model) (increase(housing_rows_predicted_total[{window}]))"},
    ]


def alerts(window, hold):
    """The alerts: drift and range over ``window``; each holds ``hold`` (None: each its own)."""
    def held(default):
        return hold or default
    return [
        {"alert": "HousingInputDrift",
         "expr": f"housing:feature_psi:{window} > {PSI_THRESHOLD!r}",
         "for": held("15m"), "labels": {"severity": "warning"},
         "annotations": {
             "summary": f"Model {{{{ $labels.model }}}}: the inputs' {{{{ $labels.feature }}}} "
                        f"has drifted from the training data (PSI {{{{ $value | printf \"%.3f\" }}}} "
                        f"over {window}, above {PSI_THRESHOLD!r})",
             "description": "Compare the request log with the training data: housing drift "
                            "--input requests.jsonl. Retrain if the drift is real."}},
        {"alert": "HousingRowsOutsideTrainingRange",
         "expr": f"housing:feature_outside_share:{window} > {OUTSIDE_SHARE!r}",
         "for": held("15m"), "labels": {"severity": "warning"},
         "annotations": {
             "summary": f"Model {{{{ $labels.model }}}}: {{{{ $value | humanizePercentage }}}} "
                        f"of rows have {{{{ $labels.feature }}}} outside the training range "
                        f"over {window} (above {OUTSIDE_SHARE:.0%})",
             "description": "A linear model extrapolates there; housing serve --strict refuses "
                            "such rows."}},
        {"alert": "HousingClientErrors",
         "expr": 'sum by (model) (rate(housing_requests_total{status=~"4.."}[5m])) '
                 '/ sum by (model) (rate(housing_requests_total[5m])) > ' + repr(CLIENT_ERROR_SHARE),
         "for": held("5m"), "labels": {"severity": "warning"},
         "annotations": {
             "summary": "Model {{ $labels.model }}: {{ $value | humanizePercentage }} of "
                        f"requests are refused as client errors (above {CLIENT_ERROR_SHARE:.0%})",
             "description": "A client sends what the model does not take; the server's log "
                            "names each refusal."}},
        {"alert": "HousingSlowRequests",
         "expr": "histogram_quantile(0.99, sum by (route, le) "
                 "(rate(housing_request_duration_seconds_bucket[5m]))) > " + repr(P99_SECONDS),
         "for": held("5m"), "labels": {"severity": "warning"},
         "annotations": {
             "summary": "Route {{ $labels.route }}: p99 latency {{ $value | humanizeDuration }} "
                        f"is above {P99_SECONDS * 1000:.0f} ms",
             "description": "Requests wait for a worker: add workers or replicas, or send "
                            "fewer rows a request."}},
        {"alert": "HousingNotScraped",
         "expr": f'up{{job="{JOB}"}} == 0 or absent(up{{job="{JOB}"}})',
         "for": held("2m"), "labels": {"severity": "critical"},
         "annotations": {
             "summary": f"housing {{{{ $labels.instance }}}}: Prometheus cannot scrape it "
                        f"(job {JOB}): nothing above can fire",
             "description": "The server is down or its /metrics does not answer."}},
    ]


def groups(alert_window="1h", hold=None):
    """The rule groups: recording rules over every window, then the alerts."""
    return [{"name": "housing-drift",
             "rules": [rule for window in WINDOWS for rule in recording_rules(window)]},
            {"name": "housing-alerts", "rules": alerts(alert_window, hold)}]


def yaml(value, indent=0):
    """``value`` (dicts, lists, strings, numbers) as block YAML; every string quoted as
    JSON quotes it, which YAML reads back as the same string."""
    pad = "  " * indent
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:\n{yaml(item, indent + 1)}")
            else:
                lines.append(f"{pad}{key}: {scalar(item)}")
        return "\n".join(lines)
    lines = []
    for item in value:
        text = yaml(item, indent + 1) if isinstance(item, (dict, list)) else pad + "  " + scalar(item)
        lines.append(f"{pad}- {text.lstrip()}")
    return "\n".join(lines)


def scalar(value):
    return json.dumps(value)


def rules_file(alert_window="1h", hold=None):
    return HEADER + yaml({"groups": groups(alert_window, hold)}) + "\n"


def operator_rule():
    return HEADER + yaml({
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
        "metadata": {"name": "housing"},
        "spec": {"groups": groups()}}) + "\n"


def service_monitor():
    return HEADER + yaml({
        "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
        "metadata": {"name": "housing"},
        "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "housing"}},
                 "endpoints": [{"port": "http", "path": "/metrics", "interval": "15s"}]}}) + "\n"


def component():
    return (HEADER + "# Add it to an overlay of deploy/ where the Prometheus Operator runs:\n"
            "#   components: [../deploy/monitoring]\n"
            + yaml({"apiVersion": "kustomize.config.k8s.io/v1alpha1", "kind": "Component",
                    "resources": ["prometheusrule.yaml", "servicemonitor.yaml"]}) + "\n")


def panel(title, y, kind, targets, unit=None, width=12):
    """A Grafana panel at row ``y``; ``targets``: (PromQL, legend) pairs."""
    return {"type": kind, "title": title,
            "gridPos": {"x": 0 if width == 24 or y % 2 == 0 else 12, "y": y * 8, "w": width,
                        "h": 8},
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "fieldConfig": {"defaults": {"unit": unit or "short"}, "overrides": []},
            "targets": [{"expr": expr, "legendFormat": legend, "refId": chr(65 + i)}
                        for i, (expr, legend) in enumerate(targets)]}


MODEL = 'model=~"$model"'


def dashboard():
    """The Grafana dashboard: traffic, latency, drift, range, predictions."""
    panels = [
        panel("Requests by status", 0, "timeseries",
              [(f"sum by (status) (rate(housing_requests_total{{{MODEL}}}[5m]))", "{{status}}")],
              "reqps"),
        panel("Latency by route", 1, "timeseries",
              [("histogram_quantile(0.99, sum by (route, le) "
                "(rate(housing_request_duration_seconds_bucket[5m])))", "p99 {{route}}"),
               ("histogram_quantile(0.5, sum by (route, le) "
                "(rate(housing_request_duration_seconds_bucket[5m])))", "p50 {{route}}")], "s"),
        panel("Input drift: PSI per feature (1h; above 0.2 alerts)", 2, "timeseries",
              [(f"housing:feature_psi:1h{{{MODEL}}}", "{{model}} {{feature}}"),
               (f"housing:feature_psi:5m{{{MODEL}}}", "{{model}} {{feature}} (5m)")]),
        panel("Rows outside the training range, per feature (1h)", 3, "timeseries",
              [(f"housing:feature_outside_share:1h{{{MODEL}}}", "{{model}} {{feature}}"),
               (f"housing:rows_outside_share:1h{{{MODEL}}}", "{{model}} any feature")],
              "percentunit"),
        panel("Predictions ($100,000)", 4, "heatmap",
              [(f"sum by (le) (increase(housing_prediction_bucket{{{MODEL}}}[5m]))", "{{le}}")]),
        panel("Rows predicted", 5, "timeseries",
              [(f"sum by (model) (rate(housing_rows_predicted_total{{{MODEL}}}[5m]))",
                "{{model}}")], "rowsps"),
    ]
    return {
        "title": "housing", "uid": "housing", "schemaVersion": 39, "version": 1,
        "time": {"from": "now-6h", "to": "now"}, "refresh": "1m", "tags": ["housing"],
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus"},
            {"name": "model", "type": "query", "includeAll": True, "multi": True,
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": "label_values(housing_rows_predicted_total, model)",
             "current": {"text": "All", "value": "$__all"}}]},
        "panels": panels}


def files():
    """Every file of deploy/monitoring/, by name."""
    return {"rules.yml": rules_file(), "prometheusrule.yaml": operator_rule(),
            "servicemonitor.yaml": service_monitor(), "kustomization.yaml": component(),
            "dashboard.json": json.dumps(dashboard(), indent=2) + "\n"}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--check", action="store_true", help="fail if a committed file differs")
    p.add_argument("--rules", type=Path, help="write only a rules file here, with --window "
                                              "and --hold: the tests' short one")
    p.add_argument("--window", default="1h", help="the window the alerts read")
    p.add_argument("--hold", help="how long every alert must hold (default: each its own)")
    args = p.parse_args(argv)
    if args.rules:
        args.rules.write_text(rules_file(args.window, args.hold))
        return 0
    stale = []
    for name, text in files().items():
        path = args.out / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print(f"monitoring: {', '.join(stale)} in {args.out} differ from what "
              f"tests/tools/monitoring.py writes; run make monitoring", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
