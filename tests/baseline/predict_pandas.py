import sys

import joblib
import pandas as pd

# python predict_pandas.py model.joblib rows.csv|rows.jsonl: the usual pandas way
model = joblib.load(sys.argv[1])
path = sys.argv[2]
X = pd.read_json(path, lines=True) if path.endswith(".jsonl") else pd.read_csv(path)
sys.stdout.write("".join(f"{v!r}\n" for v in model.predict(X.to_numpy()).tolist()))
