"""What the server counts of the rows it predicts, for drift: for each model and feature,
the rows by bin of the training split's deciles and the rows outside the training range;
and a histogram of each model's predictions.

Prometheus computes drift from these counters (deploy/monitoring/rules.yml): each bin
held a tenth of the training rows, so the share of live rows in it, over a window, gives
the population stability index. Every series is made at zero when a model is served, so
each feature's ten bins are sampled at the same scrapes from the start, as PSI's ratios
need. The rows of a turn of the event loop are counted together, with numpy, when the
metrics flush: a counter's ``inc`` takes a count, where a histogram's ``observe`` takes one
value (3 us each, 30 ms for a request of 10,000 rows). So the predictions are counted by
bucket and summed in plain counters, and ``histogram`` shows them as the histogram they
are, ``housing_prediction``, when /metrics is scraped.
"""
from typing import NamedTuple

import numpy as np

from ..model import BINS, Ranges

# Predictions, in $100,000: the data set's values run from 0.15 to 5
PREDICTION_BUCKETS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0)
BUCKET_NAMES = tuple(map(repr, PREDICTION_BUCKETS)) + ("+Inf",)  # Prometheus's le values
HISTOGRAM = "housing_prediction"
BY_BUCKET = "housing_prediction_by_bucket"  # its rows by bucket (each alone, not cumulative)
SUM = "housing_prediction_sum_of_values"  # and the sum of its values


class Drift:
    """The drift counters of the models served, in prometheus-client's multiprocess values.

    p : the prometheus_client module, imported once the metrics folder is known
    """

    def __init__(self, p):
        self.bins = p.Counter("housing_feature_bin_rows",
                              "Rows predicted, by feature and the bin of the training "
                              "split's deciles its value falls in, 0 to 9",
                              ["model", "feature", "bin"], registry=None)
        self.outside = p.Counter("housing_feature_rows_outside_training_range",
                                 "Rows predicted with this feature outside the training range",
                                 ["model", "feature"], registry=None)
        self.by_bucket = p.Counter(BY_BUCKET, "Predictions by the histogram bucket they fall "
                                   "in", ["model", "le"], registry=None)
        # a gauge, summed over every process, live or not: a sum of predictions may fall
        self.sum = p.Gauge(SUM, "The sum of the predictions", ["model"],
                           multiprocess_mode="sum", registry=None)
        self.models = {}  # name -> Counted
        self.pending = {}  # name -> the Predictions of this turn

    def serve(self, served):
        """Count the models of a serving.served.Served from now on; every series of each
        made now, at zero."""
        self.models = {}
        for name, model in served.models.items():
            features = model.features
            self.models[name] = Counted(
                model.ranges,
                [[self.bins.labels(name, feature, str(k)) for k in range(BINS)]
                 for feature in features],
                [self.outside.labels(name, feature) for feature in features],
                [self.by_bucket.labels(name, le) for le in BUCKET_NAMES],
                self.sum.labels(name))
        self.pending = {}

    def add(self, name, prediction):
        """Count the rows of a serving.served.Prediction of model ``name`` at the next flush."""
        if name in self.models:
            self.pending.setdefault(name, []).append(prediction)

    def flush(self):
        """This turn's rows, to the shared values."""
        for name, predictions in self.pending.items():
            counted = self.models[name]
            X = np.vstack([p.X for p in predictions])
            by_bin = counted.ranges.bin_counts(X).tolist()
            outside = counted.ranges.outside(X).sum(axis=0).tolist()
            for j, feature_bins in enumerate(by_bin):
                for k, rows in enumerate(feature_bins):
                    if rows:
                        counted.bins[j][k].inc(rows)
                if outside[j]:
                    counted.outside[j].inc(outside[j])
            y = np.concatenate([p.y for p in predictions])
            # a value equal to a bound is in that bound's bucket, as le says
            by_bucket = np.bincount(np.searchsorted(PREDICTION_BUCKETS, y, side="left"),
                                    minlength=len(BUCKET_NAMES)).tolist()
            for k, rows in enumerate(by_bucket):
                if rows:
                    counted.by_bucket[k].inc(rows)
            counted.sum.inc(float(y.sum()))
        self.pending.clear()


class Counted(NamedTuple):
    """A served model's drift counters: its training profile, its bins' children by
    feature then bin, its outside children by feature, its predictions' children by
    bucket, and the child of their sum."""
    ranges: Ranges
    bins: list
    outside: list
    by_bucket: list
    sum: object


def histogram(families):
    """The metric families read from every process, with the predictions' counts by bucket
    and their sum shown as what they are: the histogram ``housing_prediction``, its buckets
    cumulative, by model (prometheus_client's documented HistogramMetricFamily)."""
    from prometheus_client.core import HistogramMetricFamily
    counts = {}
    sums = {}
    shown = []
    for family in families:
        if family.name == BY_BUCKET:
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    model = sample.labels["model"]
                    counts.setdefault(model, {})[sample.labels["le"]] = sample.value
        elif family.name == SUM:
            sums.update((s.labels["model"], s.value) for s in family.samples)
        else:
            shown.append(family)
    if counts:
        predictions = HistogramMetricFamily(HISTOGRAM, "Predictions, in $100,000",
                                            labels=["model"])
        for model, by_le in counts.items():
            cumulative = np.cumsum([by_le.get(le, 0.0) for le in BUCKET_NAMES]).tolist()
            predictions.add_metric([model], list(zip(BUCKET_NAMES, cumulative)),
                                   sums.get(model, 0.0))
        shown.append(predictions)
    return shown
