# Inference image: numpy, gunicorn, the housing package, both model files and a few test rows.
# No scikit-learn, no data set, no training at start-up; runs read-only, as uid 10001.
# Build it with `make docker`, which passes the pins from requirements.txt.
# Offline, or against a mirror: make docker BASE_IMAGE=<your copy of the python slim image>
ARG BASE_IMAGE=python:3.11.11-slim-bookworm
FROM ${BASE_IMAGE}

ARG NUMPY_VERSION
ARG GUNICORN_VERSION
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_ROOT_USER_ACTION=ignore

# One source of truth for the pins: requirements.txt, read by the Makefile. numpy's own
# test suite is 17 MB of the 71 MB it adds, and nothing here runs it.
RUN test -n "${NUMPY_VERSION}" && test -n "${GUNICORN_VERSION}" \
 && pip install --no-cache-dir --disable-pip-version-check \
      "numpy==${NUMPY_VERSION}" "gunicorn==${GUNICORN_VERSION}" \
 && find "$(python -c 'import numpy, os; print(os.path.dirname(numpy.__file__))')" \
      -depth -type d -name tests -exec rm -rf {} +

# Laid out like the repo, so the paths in metrics.json work as they are.
WORKDIR /app
COPY housing/ housing/
COPY artifacts/models/ artifacts/models/
COPY artifacts/metrics.json artifacts/sample.csv artifacts/

USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/v2/health/ready', timeout=2)"]
# Both models over HTTP; `python -m housing demo` runs them on the bundled rows instead.
CMD ["python", "-m", "housing", "serve", "--host", "0.0.0.0", "--port", "8080"]
