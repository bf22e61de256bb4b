"""The models a server serves: loaded and checked once, before it starts, by name."""
import re
from typing import NamedTuple

import numpy as np

from .. import store
from ..cli import UserError
from ..model import checked_predict
from .http import HTTPError


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Prediction(NamedTuple):
    """What a model answered for a request's rows: the rows, X of shape (n, n_features),
    their predictions, y of shape (n,), and how many rows lay outside the training range.
    The metrics and the request log read it off the Response."""
    X: np.ndarray
    y: np.ndarray
    outside: int


class Served:
    """Models by name, each with its one version (``model.Model.version``).

    default : the name /invocations uses
    strict : refuse rows with a feature outside the training range
    """

    def __init__(self, models, default, strict=False, registered=None):
        self.models = models
        self.default = default
        self.strict = strict
        self.registered = registered or {}  # name -> {"name", "version"} in MLflow's registry

    @property
    def versions(self):
        """The version of each model, by name."""
        return {name: model.version for name, model in self.models.items()}

    @classmethod
    def load(cls, specs, default, strict=False):
        """From "name=path" strings, each file checked as the CLI checks it; a path of
        ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` is a version in MLflow's
        registry (the track extra), fetched and checked against its sha256."""
        models = {}
        registered = {}
        for spec in specs:
            name, sep, path = spec.partition("=")
            if not sep or not name:
                raise UserError(f"--model: expected NAME=PATH, got {spec!r}")
            if not NAME.fullmatch(name):
                raise UserError(f"--model: a model's name is 1 to 64 letters, digits, '.', "
                                f"'_' or '-', from a letter or digit (it is a segment of "
                                f"the paths it is served on), got {name[:64]!r}")
            if path.startswith("models:/"):
                from .. import track
                fetched = track.load_registered(path, "housing serve")
                models[name] = fetched.model
                registered[name] = {"name": fetched.version.name,
                                    "version": str(fetched.version.version)}
            else:
                models[name] = store.load_model(path)
        if default not in models:
            raise UserError(f"--default: no model named {default!r}; expected one of "
                            f"{', '.join(models)}")
        return cls(models, default, strict, registered)

    def get(self, request):
        """(name, model) of a model route's ``name`` and ``version``; 404 for a model or
        version not served here."""
        name = request.params["model"]
        version = request.params.get("version")
        if name not in self.models:
            raise HTTPError(404, f"no model named {name[:64]!r}; expected one of "
                                 f"{', '.join(self.models)}")
        served = self.models[name].version
        if version is not None and version != served:
            raise HTTPError(404, f"model {name!r} has no version {version[:64]!r}; it serves "
                                 f"version {served}")
        return name, self.models[name]

    def predict(self, model, chunk):
        """A Prediction of every row of a ``readers.chunk.Chunk``; a UserError for a row that
        overflows or (strict) lies outside the training range."""
        checked = checked_predict(model, chunk.X, self.strict)
        if checked.refused:
            raise UserError(chunk.refused(checked.refused[:1])[0].message)
        return Prediction(chunk.X, checked.y, model.ranges.count_outside(chunk.X))
