# Two commands: `make run` and `make test`. Everything else is a detail of those.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app portal
STAMP := $(VENV)/.installed

.PHONY: run test install db demo clean bench

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

run: db demo
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install
	$(BIN)/pytest -q $(PYTEST_ARGS)

# Benchmarks (bench/README.md): not tests; every figure with its target, under 10 minutes.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance/*.db instance/demo-credentials.txt
