# The pipeline: data -> train -> quantize -> report (metrics.json), then the image, as file
# targets: a second `make all` does nothing, and a changed input, piece of code or parameter
# re-runs exactly the stages that read it. Only `make report` writes committed files (the
# README's tables and figure). Developer tooling is in tests/dev.mk; `make help` lists all.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules --no-print-directory

## Parameters (override on the command line: make all SEED=7 BITS=4)
SEED ?= 42
TEST_SIZE ?= 0.2
BITS ?= 8
METHOD ?= auto
IMAGE ?= housing:latest
EDGE_IMAGE ?= housing-edge:latest
# empty: the Dockerfile's own default, the official python slim image. Once given, it is
# remembered (in $(A)/params/BASE_IMAGE) for later docker targets; BASE_IMAGE= resets it.
BASE_IMAGE ?= $(shell cat artifacts/params/BASE_IMAGE 2>/dev/null)
# empty: the image bakes the pipeline's models; models:/housing-quantized@champion (or
# /VERSION): the run of that version in MLflow's registry, fetched and checked (make track)
MODEL ?=

VENV := .venv
PY := $(VENV)/bin/python
ENV_STAMP := $(VENV)/.requirements
A := artifacts
SCRATCH := .tmp
PARAMS := $(A)/params
SPLIT := $(A)/data/split.npz
SAMPLE := $(A)/sample.csv
FLOAT := $(A)/models/float.npz
QUANT := $(A)/models/quantized.npz
METRICS := $(A)/metrics.json
FIGURE := .github/r2_vs_bits.svg
IMAGE_ID := $(A)/image.id
COMMON := housing/__init__.py housing/__main__.py housing/cli.py housing/config.py \
          housing/qparams.py housing/integer.py \
          housing/model.py housing/store.py housing/quantize.py
DEFAULT_BASE = $(shell sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile)

# Make tracks files, not variable values: each parameter is kept in a file under
# $(PARAMS), rewritten only when its value changes (cmp), and the stages that read it
# depend on that file. FORCE has make look at each one every run.
$(PARAMS)/%: FORCE
	@mkdir -p $(@D)
	@printf '%s\n' '$($*)' | cmp -s - $@ || printf '%s\n' '$($*)' > $@

FORCE:

.PHONY: help all data train quantize report report-check test clean docker docker-run \
        serve docker-serve sql mlflow publish track track-env FORCE

# the variables a target's help line may name, shown by their values
HELP_VARIABLES = FIGURE EXPORT METRICS SQL MLFLOW

help: ## list the targets
	@echo "make all runs the pipeline; make test runs the tests. Targets:"
	@sed -n 's/^\([a-z-]*\):.*## \(.*\)/  \1\t\2/p' $(MAKEFILE_LIST) \
	  $(foreach v,$(HELP_VARIABLES),| sed 's|$$($(v))|$($(v))|g') | expand -t 16
	@echo "Parameters: SEED=$(SEED) TEST_SIZE=$(TEST_SIZE) BITS=$(BITS) METHOD=$(METHOD) IMAGE=$(IMAGE) BASE_IMAGE=$(BASE_IMAGE)"
	@echo "Serving: HOST=$(HOST) PORT=$(PORT) WORKERS=$(WORKERS)"

all: $(METRICS) ## run every stage: data, train, quantize, evaluate (metrics.json)

data: $(SPLIT) ## load, check and split the data set
train: $(FLOAT) ## fit the float model
quantize: $(QUANT) ## quantize it (BITS, METHOD)

report: $(METRICS) tests/tools/render.py ## write the README's tables and $(FIGURE) from $(METRICS)
	$(PY) tests/tools/render.py --metrics $(METRICS) --readme README.md --figure $(FIGURE)

report-check: $(METRICS) ## fail if the README's tables or figure differ from metrics.json
	$(PY) tests/tools/render.py --check --metrics $(METRICS) --readme README.md --figure $(FIGURE)

# the package (editable, with scikit-learn) and the test tools at requirements.txt's pins
$(ENV_STAMP): requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -c requirements.txt \
	  -e '.[train,sql]' pytest hypothesis
	touch $@

# the package with MLflow (the track extra), apart: make all never needs it
TRACK_VENV := .venv-track
TRACK_STAMP := $(TRACK_VENV)/.requirements
$(TRACK_STAMP): requirements.txt pyproject.toml
	python3 -m venv $(TRACK_VENV)
	$(TRACK_VENV)/bin/pip install --disable-pip-version-check -q -c requirements.txt -e '.[track]'
	touch $@

track-env: $(TRACK_STAMP) ## install MLflow, for make track and its tests, into .venv-track

track: $(METRICS) $(TRACK_STAMP) ## record the models as an MLflow run; the gate promotes them to champion if no worse (mlruns.db, or MLFLOW_TRACKING_URI)
	$(TRACK_VENV)/bin/python -m housing track --data $(SPLIT) --float $(FLOAT) --quantized $(QUANT) --metrics $(METRICS)

$(SPLIT): housing/data.py $(COMMON) $(PARAMS)/SEED $(PARAMS)/TEST_SIZE $(ENV_STAMP)
	$(PY) -m housing data --seed $(SEED) --test-size $(TEST_SIZE) --out $@

$(SAMPLE): $(SPLIT) housing/data.py $(COMMON)
	$(PY) -m housing data --sample-from $(SPLIT) --sample $@

$(FLOAT): $(SPLIT) housing/train.py $(COMMON)
	$(PY) -m housing train --data $(SPLIT) --out $@

$(QUANT): $(FLOAT) $(SPLIT) $(COMMON) $(PARAMS)/BITS $(PARAMS)/METHOD
	$(PY) -m housing quantize --bits $(BITS) --method $(METHOD) --model $(FLOAT) --data $(SPLIT) --out $@

$(METRICS): $(SPLIT) $(FLOAT) $(QUANT) housing/report.py $(COMMON)
	$(PY) -m housing report --data $(SPLIT) --float $(FLOAT) --quantized $(QUANT) --metrics $@

test: $(ENV_STAMP) ## run the test suite (offline; it needs gcc, and the data set's cache for the README's examples)
	$(PY) -m pytest -q -rs  # -rs: every skipped test says why

docker: $(IMAGE_ID) ## build the numpy-only inference image (IMAGE, BASE_IMAGE; MODEL=models:/housing-quantized@champion bakes the registry's)

# OCI labels: what the image is, from which commit, when it was built
VERSION = $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' housing/__init__.py)
LABELS = $(foreach l,title=housing version=$(VERSION) \
  revision=$(shell git rev-parse HEAD 2>/dev/null || echo unknown) \
  source=$(shell git config --get remote.origin.url 2>/dev/null || echo unknown) \
  created=$(shell date -u +%Y-%m-%dT%H:%M:%SZ),--label org.opencontainers.image.$(l))

# what the image bakes: the pipeline's models and metrics, or a registered version's run's
REGISTERED := $(A)/registered
BAKED := $(if $(MODEL),$(REGISTERED),$(A))

$(REGISTERED)/metrics.json: $(PARAMS)/MODEL $(TRACK_STAMP)
	$(TRACK_VENV)/bin/python -m housing fetch $(MODEL) --out $(REGISTERED)

$(IMAGE_ID): Dockerfile .dockerignore requirements.txt pyproject.toml $(wildcard housing/*.py housing/*/*.py) \
             $(FLOAT) $(QUANT) $(SAMPLE) $(METRICS) $(if $(MODEL),$(REGISTERED)/metrics.json) \
             $(PARAMS)/IMAGE $(PARAMS)/BASE_IMAGE $(PARAMS)/MODEL
	docker build $(if $(BASE_IMAGE),--build-arg BASE_IMAGE=$(BASE_IMAGE)) \
	  $(if $(MODEL),--build-arg ARTIFACTS=$(REGISTERED)) $(LABELS) \
	  --iidfile $(SCRATCH)/image.id -t $(IMAGE) .
	mv $(SCRATCH)/image.id $@
	@base=$$(docker image inspect -f '{{.Size}}' $(or $(BASE_IMAGE),$(DEFAULT_BASE)) 2>/dev/null || echo 0); \
	 size=$$(docker image inspect -f '{{.Size}}' $(IMAGE)); \
	 echo "docker: $(IMAGE) is $$((size / 1000000)) MB, $$(((size - base) / 1000000)) MB over its base"

REVISION = $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

publish: $(IMAGE_ID) ## push the image to REGISTRY (host[:port]/name), tagged with the version and the commit
	@[ -n "$(REGISTRY)" ] || { echo "publish: give REGISTRY=host[:port]/name" >&2; exit 2; }
	@for tag in $(VERSION) $(REVISION); do docker tag $(IMAGE) $(REGISTRY):$$tag && \
	  docker push -q $(REGISTRY):$$tag >/dev/null && echo "publish: pushed $(REGISTRY):$$tag"; done

# the metrics' folder: a tmpfs, so that the root stays read-only
METRICS_TMPFS = --tmpfs /run/metrics -e HOUSING_METRICS_DIR=/run/metrics
RUN_IMAGE = docker run -i --rm --network none --read-only $(IMAGE)
# Wait up to 10 s for a server's readiness; $(1) is the command that runs python there.
WAIT_READY = for _ in $$(seq 50); do $(1) -c "import urllib.request as u; u.urlopen(\
  'http://127.0.0.1:$(2)/v2/health/ready', timeout=1)" 2>/dev/null && break; sleep 0.2; done

docker-run: $(IMAGE_ID) $(ENV_STAMP) tests/tools/smoke_client.py ## offline and read-only: the demo, predict, and both protocols of the server
	$(RUN_IMAGE) python -m housing demo
	@for model in $(FLOAT) $(QUANT); do \
	  cmp <($(RUN_IMAGE) python -m housing predict --model $$model < $(SAMPLE)) \
	      <($(PY) -m housing predict --model $$model < $(SAMPLE)) || exit 1; \
	  echo "docker-run: $$model predicts the same bytes in the image as here"; done
	@cid=$$(docker run -d --network none --read-only $(METRICS_TMPFS) $(IMAGE)); \
	 trap 'docker rm -f $$cid >/dev/null' EXIT; \
	 $(call WAIT_READY,docker exec $$cid python,8080); \
	 smoke() { docker exec -i $$cid python -c "$$(cat tests/tools/smoke_client.py)" \
	   http://127.0.0.1:8080 "$$@"; }; \
	 for name in float quantized; do \
	   cmp <(smoke --protocol oip --model $$name < $(SAMPLE)) \
	       <($(PY) -m housing predict --model $(A)/models/$$name.npz < $(SAMPLE) 2>/dev/null) \
	     || exit 1; \
	   echo "docker-run: the server's Open Inference Protocol answers for $$name are the CLI's"; \
	 done; \
	 cmp <(smoke --protocol mlflow < $(SAMPLE)) \
	     <($(PY) -m housing predict --model $(QUANT) < $(SAMPLE) 2>/dev/null) || exit 1; \
	 echo "docker-run: the server's MLflow /invocations answers are the CLI's (quantized)"; \
	 docker stop -t 20 $$cid >/dev/null; status=$$(docker wait $$cid); \
	 echo "docker-run: docker stop: the server exited with status $$status"; [ "$$status" = 0 ]

SQL := $(A)/sql
DIALECTS := sqlite duckdb spark postgres bigquery snowflake trino mysql

sql: $(foreach m,float quantized,$(foreach d,$(DIALECTS),$(SQL)/$(m).$(d).sql)) ## each model as one SQL query per dialect, in $(SQL)

$(SQL)/%.sql: $(FLOAT) $(QUANT) housing/sql.py $(COMMON)
	@mkdir -p $(@D)
	$(PY) -m housing sql --model $(A)/models/$(basename $(basename $*)).npz \
	  --dialect $(subst .,,$(suffix $*)) > $@

MLFLOW := $(A)/mlflow
mlflow: $(MLFLOW)/float/MLmodel $(MLFLOW)/quantized/MLmodel ## each model as an MLflow model folder, in $(MLFLOW)

$(MLFLOW)/%/MLmodel: $(A)/models/%.npz housing/mlflow.py housing/pyfunc.py $(COMMON)
	$(PY) -m housing mlflow --model $< --out $(@D)

## Serving parameters (make serve PORT=9000 WORKERS=4)
HOST ?= 127.0.0.1
PORT ?= 8080
WORKERS ?= 2

serve: $(FLOAT) $(QUANT) ## serve both models over HTTP here, in the foreground (HOST, PORT, WORKERS)
	$(PY) -m housing serve --host $(HOST) --port $(PORT) --workers $(WORKERS) \
	  --model float=$(FLOAT) --model quantized=$(QUANT)

# docker-serve's container: named for PORT and labelled with IMAGE and PORT, so that a new
# docker-serve replaces only the one an earlier docker-serve started there
SERVE_NAME = housing-serve-$(PORT)
SERVE_LABEL = housing.serve=$(IMAGE)@$(PORT)

docker-serve: $(IMAGE_ID) ## run the image's server detached and read-only on PORT
	@old=$$(docker ps -aq --filter label=$(SERVE_LABEL)); \
	 [ -z "$$old" ] || docker rm -f $$old >/dev/null
	@$(PY) -c "import socket; socket.create_server(('$(HOST)', $(PORT)))" 2>/dev/null || { \
	  echo "docker-serve: $(HOST):$(PORT) is in use; choose another PORT=" >&2; exit 2; }
	docker run -d --rm --name $(SERVE_NAME) --label $(SERVE_LABEL) --read-only $(METRICS_TMPFS) \
	  -p $(HOST):$(PORT):8080 $(IMAGE) >/dev/null
	@$(call WAIT_READY,$(PY),$(PORT))
	@echo "docker-serve: both models on http://$(HOST):$(PORT), for instance:"
	@echo "  curl -s http://$(HOST):$(PORT)/invocations -H 'Content-Type: text/csv' --data-binary @$(SAMPLE)"
	@echo "  docker stop $(SERVE_NAME)   # ends it"

clean: ## remove everything the pipeline generated (artifacts/, .tmp/)
	rm -rf $(A) $(SCRATCH)

include deploy/edge/edge.mk tests/dev.mk
