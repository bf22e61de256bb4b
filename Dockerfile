# Inference image: numpy, the housing package, both model files and a few test rows.
# No scikit-learn, no data set, no training at start-up; runs with --network none --read-only.
# Build it with `make docker`, which passes the numpy pin from requirements.txt.
# Offline, or against a mirror: make docker BASE_IMAGE=<your copy of the python slim image>
ARG BASE_IMAGE=python:3.11.11-slim-bookworm
FROM ${BASE_IMAGE}

ARG NUMPY_VERSION
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_ROOT_USER_ACTION=ignore

# One source of truth for the pin: requirements.txt, read by the Makefile. numpy's own
# test suite is 17 MB of the 71 MB it adds, and nothing here runs it.
RUN test -n "${NUMPY_VERSION}" \
 && pip install --no-cache-dir --disable-pip-version-check "numpy==${NUMPY_VERSION}" \
 && find "$(python -c 'import numpy, os; print(os.path.dirname(numpy.__file__))')" \
      -depth -type d -name tests -exec rm -rf {} +

# Laid out like the repo, so the paths in metrics.json work as they are.
WORKDIR /app
COPY housing/ housing/
COPY artifacts/models/ artifacts/models/
COPY artifacts/metrics.json artifacts/sample.csv artifacts/

USER 10001:10001
CMD ["python", "-m", "housing", "demo"]
