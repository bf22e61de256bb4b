# Inference image: numpy, gunicorn, prometheus-client, the housing package, both model files
# and a few test rows.
# No scikit-learn, no data set, no training at start-up; runs read-only, as uid 10001.
# Build it with `make docker`.
# Offline, or against a mirror: make docker BASE_IMAGE=<your copy of the python slim image>
ARG BASE_IMAGE=python:3.11.11-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_ROOT_USER_ACTION=ignore

# The package as pip installs it (numpy, gunicorn and prometheus-client, no training extra),
# every version at requirements.txt's pin; its source is removed once installed. numpy's
# own test suite is 17 MB of the 71 MB it adds, and nothing here runs it.
COPY pyproject.toml requirements.txt README.md /src/
COPY housing/ /src/housing/
RUN pip install --no-cache-dir --disable-pip-version-check -c /src/requirements.txt /src \
 && rm -rf /src \
 && find "$(python -c 'import numpy, os; print(os.path.dirname(numpy.__file__))')" \
      -depth -type d -name tests -exec rm -rf {} +

# Laid out like the repo, so the paths in metrics.json work as they are; the `housing`
# command and python -m housing find artifacts/ in the folder they run in. The models and
# metrics are the pipeline's, or (make docker MODEL=models:/...) a registered version's run's.
WORKDIR /app
ARG ARTIFACTS=artifacts
COPY ${ARTIFACTS}/models/ artifacts/models/
COPY ${ARTIFACTS}/metrics.json artifacts/
COPY artifacts/sample.csv artifacts/

USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/v2/health/ready', timeout=2)"]
# Both models over HTTP; `python -m housing demo` runs them on the bundled rows instead.
CMD ["housing", "serve", "--host", "0.0.0.0", "--port", "8080"]
