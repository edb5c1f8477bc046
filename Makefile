# ordermail — quick start: `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
# Nothing here ever talks to real AWS: fake credentials unless the caller sets real ones for deploy.
TEST_ENV := AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL=

.PHONY: install demo test unit infra integration e2e lint synth bench clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip==25.3
	$(BIN)/python -m pip install -q -r requirements-dev.txt -c constraints.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

demo: install  ## run the whole pipeline offline on the embedded runtime
	$(TEST_ENV) $(BIN)/ordermail demo

test: install  ## the whole suite: unit, infra (synth, cdk-nag, cfn-lint), integration (ASL on moto), e2e
	$(TEST_ENV) $(BIN)/pytest

unit: install
	$(TEST_ENV) $(BIN)/pytest tests/unit
infra: install
	$(TEST_ENV) $(BIN)/pytest tests/infra
integration: install
	$(TEST_ENV) $(BIN)/pytest tests/integration
e2e: install
	$(TEST_ENV) $(BIN)/pytest tests/e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy ordermail tasks workflow app.py

synth: install  ## synthesize to cdk.out (add CONTEXT="-c env=prod ..." via `npx aws-cdk@2 synth` for deploys)
	$(BIN)/python app.py

bench: install  ## day + burst runs on the embedded runtime; writes docs/BENCHMARKS.md and docs/benchmarks.json
	$(TEST_ENV) $(BIN)/python -m ordermail.bench

clean:
	rm -rf cdk.out outbox .pytest_cache .mypy_cache .ruff_cache
