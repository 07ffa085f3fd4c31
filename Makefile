# Two commands: `make run` and `make test`. Everything else is a detail of those.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app portal
STAMP := $(VENV)/.installed

.PHONY: run test install db demo clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

db: install
	$(FLASK) init-db

instance/demo-credentials.txt: | db
	$(FLASK) demo

demo: instance/demo-credentials.txt

run: db demo
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install
	$(BIN)/pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance/*.db instance/demo-credentials.txt
