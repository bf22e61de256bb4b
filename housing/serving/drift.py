"""What the server counts of the rows it predicts, for drift: for each model and feature,
the rows by bin of the training split's deciles and the rows outside the training range;
and a histogram of each model's predictions.

Prometheus computes drift from these counters (deploy/monitoring/rules.yml): each bin
held a tenth of the training rows, so the share of live rows in it, over a window, gives
the population stability index. Every series is made at zero when a model is served, so
each feature's ten bins are sampled at the same scrapes from the start, as PSI's ratios
need. The rows of a turn of the event loop are counted together, with numpy, when the
metrics flush.
"""
from typing import NamedTuple

import numpy as np

from ..model import BINS, Ranges

# Predictions, in $100,000: the data set's values run from 0.15 to 5
PREDICTION_BUCKETS = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0)


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
        self.predictions = p.Histogram("housing_prediction", "Predictions, in $100,000",
                                       ["model"], buckets=PREDICTION_BUCKETS, registry=None)
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
                self.predictions.labels(name))
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
            for prediction in predictions:
                for y in prediction.y.tolist():
                    counted.predictions.observe(y)
        self.pending.clear()


class Counted(NamedTuple):
    """A served model's drift counters: its training profile, its bins' children by
    feature then bin, its outside children by feature, and its histogram's child."""
    ranges: Ranges
    bins: list
    outside: list
    predictions: object
