# Two commands: `make run` and `make test`. Everything else is a detail of those.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app portal
STAMP := $(VENV)/.installed

.PHONY: run test install db demo clean bench lint

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The Swedish catalogue, compiled at install (msgids are the Swedish texts; see portal/i18n.py).
MO := portal/translations/sv/LC_MESSAGES/messages.mo

$(MO): portal/translations/sv/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel compile --statistics -d portal/translations

install: $(STAMP) $(MO)

db: install
	$(FLASK) init-db

instance/demo-credentials.txt: | db
	$(FLASK) demo

demo: instance/demo-credentials.txt

# `make run PORT=5001` when 5000 is taken. Ctrl+C stops the server.
PORT ?= 5000

run: db demo
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install
	$(BIN)/pytest -q $(PYTEST_ARGS)

# Static checks, as CI runs them (.ci/run): ruff, and mypy on portal/ ([tool.mypy] in pyproject.toml).
LINT_STAMP := $(VENV)/.installed-lint

$(LINT_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/pip install --quiet -e '.[lint]'
	touch $(LINT_STAMP)

lint: $(LINT_STAMP)
	$(BIN)/ruff check portal tests $(wildcard bench)
	$(BIN)/mypy portal

# Benchmarks (bench/README.md): not tests; every figure with its target, under 10 minutes.
# PostgreSQL figures use a server at BENCH_PG_URL (else SKIP); the HTTP and start-up benchmarks
# start a throwaway redis-server (production's limiter store for more than one worker).
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance/*.db instance/demo-credentials.txt
