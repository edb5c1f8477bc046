# ordermail — quick start: `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# The pinned CDK CLI and asl-validator (package-lock.json), and checkov in a venv of its own.
NODE_STAMP    := node_modules/.installed-stamp
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-stamp
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
# Nothing here ever talks to real AWS: fake credentials unless the caller sets real ones for deploy.
TEST_ENV := AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL=

.PHONY: install gates checkov-lock demo test unit infra integration e2e lint synth bench clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip==25.3
	$(BIN)/python -m pip install -q -r requirements-dev.txt -c constraints.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error --cache .cache/npm
	touch $(NODE_STAMP)

# No pip cache: nothing of CI's is kept outside the repo.
$(CHECKOV_STAMP): requirements-checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --no-cache-dir --upgrade pip==25.3
	$(CHECKOV_VENV)/bin/python -m pip install -q --no-cache-dir -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

install: $(STAMP) $(NODE_STAMP)

gates: $(NODE_STAMP) $(CHECKOV_STAMP)  ## the outside checkers tests/infra runs: asl-validator, checkov

checkov-lock:  ## re-pin checkov: a fresh venv with the newest, frozen into requirements-checkov.txt
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --no-cache-dir --upgrade pip==25.3
	$(CHECKOV_VENV)/bin/python -m pip install -q --no-cache-dir checkov
	sed -n '1,2p' requirements-checkov.txt > requirements-checkov.txt.new
	$(CHECKOV_VENV)/bin/python -m pip freeze >> requirements-checkov.txt.new
	mv requirements-checkov.txt.new requirements-checkov.txt
	touch $(CHECKOV_STAMP)

demo: install  ## run the whole pipeline offline on the embedded runtime
	$(TEST_ENV) $(BIN)/ordermail demo

# One pytest worker per core (pytest-xdist): every test is independent of the others' order and
# process; the runtimes listen on free loopback ports, the synth cache is written atomically.
TEST_WORKERS ?= auto
test: install gates  ## the whole suite: unit, infra (synth, cdk-nag, cfn-lint, checkov, asl-validator), integration (ASL on moto), e2e
	$(TEST_ENV) ORDERMAIL_REQUIRE_GATES=1 $(BIN)/pytest -n $(TEST_WORKERS)

unit: install
	$(TEST_ENV) $(BIN)/pytest tests/unit
infra: install gates
	$(TEST_ENV) ORDERMAIL_REQUIRE_GATES=1 $(BIN)/pytest tests/infra
integration: install
	$(TEST_ENV) $(BIN)/pytest tests/integration
e2e: install
	$(TEST_ENV) $(BIN)/pytest tests/e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy ordermail tasks workflow app.py

synth: install  ## synthesize to cdk.out (for deploys: `npx cdk synth|deploy -c env=prod ...`, see README)
	$(BIN)/python app.py

bench: install  ## day + burst runs on the embedded runtime; writes docs/BENCHMARKS.md and docs/benchmarks.json
	$(TEST_ENV) $(BIN)/python -m ordermail.bench

clean:
	rm -rf cdk.out outbox .pytest_cache .mypy_cache .ruff_cache .cache
