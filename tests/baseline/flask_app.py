import os

import joblib
import numpy as np
from flask import Flask, jsonify, request

# gunicorn -w 2 flask_app:app, with HOUSING_JOBLIB=model.joblib: the usual Flask way
app = Flask(__name__)
model = joblib.load(os.environ["HOUSING_JOBLIB"])


@app.post("/v2/models/housing/infer")
def infer():
    tensor = request.get_json()["inputs"][0]
    X = np.array(tensor["data"], dtype=np.float64).reshape(tensor["shape"])
    y = model.predict(X)
    return jsonify({"model_name": "housing", "outputs": [
        {"name": "MedHouseVal", "datatype": "FP64", "shape": [len(y)], "data": y.tolist()}]})
