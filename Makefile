# huijia — two commands do all the set-up: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STAMP := $(VENV)/.installed
export DJANGO_SETTINGS_MODULE := huijia.settings

.PHONY: run test test-pg lint setup static worker seed-city bench clean

$(PY):
	@py=$$(scripts/find-python) || exit 1; echo "Creating $(VENV) with $$py"; "$$py" -m venv $(VENV)

$(STAMP): $(PY) requirements.lock pyproject.toml
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to fetch htmx and ECharts (apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch node_modules/.installed

setup: $(STAMP) node_modules/.installed
	@scripts/ensure-fonts

## make run: migrate, load the demo once, queue the demands' deadline watch and the volunteer reminders, start the task worker and serve on 127.0.0.1:$(PORT)
run: setup
	$(PY) manage.py migrate --verbosity 0
	$(PY) manage.py seed --scale demo --if-empty
	@$(PY) manage.py demand_deadlines --schedule --verbosity 0 \
	  || echo "warning: the demands' deadline watch was not queued; run: $(PY) manage.py demand_deadlines" >&2
	@$(PY) manage.py volunteer_reminders --schedule --verbosity 0 \
	  || echo "warning: the volunteer reminders were not queued; run: $(PY) manage.py volunteer_reminders" >&2
	@$(PY) manage.py demo_logins
	@trap 'kill 0' EXIT; $(PY) manage.py db_worker --verbosity 0 & \
	  $(PY) manage.py runserver 127.0.0.1:$(PORT)

## make test: the whole suite (DATABASE_URL chooses the database; SQLite when unset)
test: setup
	@scripts/ensure-chromium
	$(PY) -m ruff check .
	$(PY) manage.py makemigrations --check --dry-run --verbosity 0
	$(PY) -m pytest --ds=huijia.settings_test -n 2 --dist loadgroup $(PYTEST_ARGS)

## make test-pg: the same suite against the local PostgreSQL
test-pg: setup
	@eval "$$(scripts/ensure-postgres)"; $(MAKE) --no-print-directory test DATABASE_URL="$$DATABASE_URL"

lint: setup
	$(PY) -m ruff check . && $(PY) -m ruff format --check .

seed-city: setup
	@eval "$$(scripts/ensure-postgres huijia_bench)"; $(PY) manage.py migrate --verbosity 0 && $(PY) manage.py seed --scale city $(SEED_ARGS)

bench: setup
	@eval "$$(scripts/ensure-postgres huijia_bench)"; $(PY) manage.py bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules var
