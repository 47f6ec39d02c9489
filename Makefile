PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint clean browser difftest compiled pure test-compiled

# the browser test drives Debian's Chromium (playwright's own browser download is not used)
CHROMIUM := /usr/bin/chromium

# constraints.txt pins every package installed (the dev tools are pinned in pyproject.toml too)
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/turnout demo $(DEMO_ARGS)

# the deployment files are checked statically (no container engine here): the image definition by hadolint, the
# manifests against the Kubernetes API schemas (kustomization.yaml is kustomize's, not an API object)
MANIFESTS := $(filter-out deploy/k8s/kustomization.yaml,$(wildcard deploy/k8s/*.yaml))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy difftest bench examples
	$(BIN)/lint-imports
	$(BIN)/hadolint deploy/Dockerfile
	$(BIN)/kubernetes-validate --strict --quiet $(MANIFESTS)

# installs Debian's Chromium for tests/browser (not part of `make test`: without it that test skips, saying why)
browser:
	@test -x $(CHROMIUM) || (command -v apt-get >/dev/null && \
	  (apt-get install -y --no-install-recommends chromium >/dev/null || \
	   (apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null))) || \
	  echo "chromium could not be installed: the browser test will be skipped"

# the whole suite with the coverage of the package (in-process: the gateway processes the tests start are not
# counted: 83.2% measured at the floor's setting); below COVERAGE_FLOOR percent it fails
COVERAGE_FLOOR := 82
test: $(STAMP) lint
	$(BIN)/pytest --cov --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR) $(PYTEST_ARGS)

# the tests that start no gateway process and drive no load: under two minutes on two cores
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow" $(PYTEST_ARGS)

# turnout against Apollo Gateway on random operations (bench/peers/install.sh installs it on first use; needs Node.js
# 20+ and npm); DIFFTEST_ARGS="--supergraph-set shop --operations 50" for fewer
difftest: $(STAMP)
	@test -d bench/peers/node_modules/@apollo/gateway || bench/peers/install.sh
	$(BIN)/python -m difftest $(DIFFTEST_ARGS)

# The hot modules of the request path compiled by mypyc (installed with mypy), in place: Python imports an extension
# module before the .py beside it, so `turnout serve` and the tests run them once built, and the pure-Python package
# again after `make pure`. Optional (needs a C compiler); `make test` and `make demo` run the pure-Python build.
# Measured on the gateway benchmark: about -30% CPU per request.
COMPILED := turnout/executor/entities.py turnout/executor/merge.py turnout/executor/plan_executor.py \
	turnout/executor/projection.py turnout/transport/http.py turnout/transport/http_client.py
compiled: $(STAMP) pure
	cd src && ../$(BIN)/mypyc $(COMPILED) >/dev/null
	rm -rf src/build

pure:
	find src -name '*.so' -delete

# the fast tests on the compiled build (tests/test_compiled.py checks that the compiled modules are the ones loaded),
# then the pure-Python build is restored
test-compiled: compiled
	TURNOUT_EXPECT_COMPILED="$(COMPILED)" $(BIN)/pytest -q -m "not slow" $(PYTEST_ARGS); \
	  status=$$?; $(MAKE) --no-print-directory pure; exit $$status

clean: pure
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
