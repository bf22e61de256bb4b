import sys

import joblib
import numpy as np

model = joblib.load(sys.argv[1])
X = np.loadtxt(sys.stdin, delimiter=",", skiprows=1, ndmin=2)
print("\n".join(map(str, model.predict(X))))
