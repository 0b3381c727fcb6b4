# The two commands a newcomer types: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed

.PHONY: run test bench setup migrate demo translations fonts clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

fonts:
	@test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf || { \
	  echo "DejaVu Sans is missing: apt-get install -y fonts-dejavu-core (PDFs name it explicitly)"; exit 1; }

translations: $(STAMP)
	$(BIN)/pybabel compile -d app/translations >/dev/null

setup: $(STAMP) fonts translations
	mkdir -p instance

migrate: setup
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo

run: demo
	@echo "Serving on http://127.0.0.1:5000 (a worker thread renders documents and sends e-mail)"
	START_WORKER_THREAD=1 $(FLASK) run --host 127.0.0.1 --port 5000

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance/grants.sqlite*
