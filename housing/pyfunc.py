"""The loader of the MLflow models ``housing mlflow`` writes: MLflow's python_function
flavor calls ``_load_pyfunc`` with the model file's path. MLflow is not imported here;
it loads this module from the model folder's own copy of the package."""
import numpy as np

from . import store
from .cli import UserError
from .model import predict


class HousingModel:
    """What mlflow.pyfunc.load_model(...) wraps: ``predict`` of a pandas DataFrame whose
    columns include the features by name; the predictions, in $100,000, as a float64
    array, the same bits as housing predict's."""

    def __init__(self, model):
        self.model = model

    def predict(self, model_input, params=None):
        missing = [f for f in self.model.features if f not in model_input.columns]
        if missing:
            raise UserError(f"model input: missing columns {', '.join(missing)}; expected "
                            f"{', '.join(self.model.features)}")
        X = model_input[list(self.model.features)].to_numpy(dtype=np.float64)
        y = predict(self.model, X)
        bad = np.flatnonzero(~np.isfinite(y))
        if len(bad):
            raise UserError(f"model input, row {bad[0] + 1}: the prediction is {y[bad[0]]!r}; "
                            f"expected finite features")
        return y


def _load_pyfunc(path):
    return HousingModel(store.load_model(path))
