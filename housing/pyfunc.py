"""The loader of the MLflow models ``housing mlflow`` writes: MLflow's python_function
flavor calls ``_load_pyfunc`` with the model file's path. MLflow is not imported here;
it loads this module from the model folder's own copy of the package."""
import numpy as np

from . import store
from .cli import UserError
from .model import predict
from .readers.values import shown


NUMBERS = (int, float, np.integer, np.floating)


def feature(frame, name):
    """The column ``name`` of ``frame`` as float64, shape (n_rows,): numbers only (pandas'
    int, uint and float columns, or Python ints and floats), all finite; anything else is a
    UserError naming its row, its column and what it holds."""
    column = frame[name]
    numeric = column.dtype.kind in "iuf"
    values = column.to_numpy() if numeric else column.tolist()
    for row, value in enumerate(values if not numeric else (), 1):
        if isinstance(value, bool) or not isinstance(value, NUMBERS):  # str, None, pd.NA...
            got = shown(value) if isinstance(value, str) else repr(value)[:40]
            raise UserError(f"model input, row {row}, column '{name}': expected a number, "
                            f"got {got}")
    x = np.asarray(values, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(x))
    if len(bad):
        raise UserError(f"model input, row {bad[0] + 1}, column '{name}': expected a finite "
                        f"number, got {float(x[bad[0]])!r}")
    return x


class HousingModel:
    """What mlflow.pyfunc.load_model(...) wraps: ``predict`` of a pandas DataFrame whose
    columns include the features by name, of any numeric dtype (pandas reads integral
    text as int64); the predictions, in $100,000, as a float64
    array, the same bits as housing predict's."""

    def __init__(self, model):
        self.model = model

    def predict(self, model_input, params=None):
        missing = [f for f in self.model.features if f not in model_input.columns]
        if missing:
            raise UserError(f"model input: missing columns {', '.join(missing)}; expected "
                            f"{', '.join(self.model.features)}")
        X = np.column_stack([feature(model_input, name) for name in self.model.features])
        y = predict(self.model, X)
        bad = np.flatnonzero(~np.isfinite(y))
        if len(bad):
            raise UserError(f"model input, row {bad[0] + 1}: the prediction is {y[bad[0]]!r}; "
                            f"expected finite features")
        return y


def _load_pyfunc(path):
    return HousingModel(store.load_model(path))
