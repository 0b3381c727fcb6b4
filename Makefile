# The two commands a newcomer types: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed

.PHONY: run test bench setup migrate demo translations system-run system-test clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# System packages (fonts, Graphviz, and Chromium for the browser tests): installed when make runs as root,
# otherwise make stops at once with the command to type.
system-run:
	@scripts/system-packages.sh run

system-test:
	@scripts/system-packages.sh test

translations: $(STAMP)
	$(BIN)/pybabel compile -d app/translations >/dev/null

setup: $(STAMP) translations
	mkdir -p instance

migrate: system-run setup
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo

run: demo
	@echo "Serving on http://127.0.0.1:5000 (a worker thread renders documents and sends e-mail)"
	@test -n "$(MAIL_SERVER)" || echo "E-mail is off: messages stay in the in-app lists. To send e-mail: make run MAIL_SERVER=smtp.example.lv [MAIL_PORT=25]"
	START_WORKER_THREAD=1 $(FLASK) run --host 127.0.0.1 --port 5000

test: system-test setup
	PYTHON=$(BIN)/python scripts/run-tests.sh $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance/grants.sqlite*
