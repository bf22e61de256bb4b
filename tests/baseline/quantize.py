import sys

import joblib
import numpy as np
from sklearn.datasets import fetch_california_housing
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

model = joblib.load(sys.argv[1])
w = np.append(model.coef_, model.intercept_)
lo, hi = w.min(), w.max()
scale = (hi - lo) / 255
q = np.round((w - lo) / scale).astype(np.uint8)
joblib.dump({"q": q, "scale": scale, "lo": lo}, sys.argv[2])
dq = q * scale + lo
X, y = fetch_california_housing(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
print(f"quantized R2 {r2_score(y_test, X_test @ dq[:-1] + dq[-1]):.4f}")
