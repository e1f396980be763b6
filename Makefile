# Kindred — the two commands of the quick start are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := wsgi:app

.PHONY: install run test lint format migrate seed ci clean i18n serve worker beat prod-smoke load load-short simulate lighthouse

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/flask i18n compile
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/flask db upgrade

seed: migrate
	$(BIN)/flask seed --if-empty

# The demo's own links (payment pages, mail) follow HOST and PORT.
run: export FLASK_RUN_HOST = $(HOST)
run: export FLASK_RUN_PORT = $(PORT)
run: seed
	@$(BIN)/python -m app.demo_logins
	$(BIN)/flask run --host $(HOST) --port $(PORT) --debug --no-reload

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The deterministic money simulation: SEEDS seeds from FIRST, STEPS steps each, with progress
# (TEST_DATABASE_URL for PostgreSQL). A failing seed prints itself and the command replaying it.
SEEDS ?= 200
FIRST ?= 1
STEPS ?= 40
JOBS ?= 1
simulate: install
	$(BIN)/python -m tests.simulation --seeds $(SEEDS) --first $(FIRST) --steps $(STEPS) --jobs $(JOBS) $(SIMULATE_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

ci:
	bash .ci/run

# Production serving (README, "Running in production"): set DATABASE_URL and REDIS_URL first.
serve: install
	$(BIN)/gunicorn -c deploy/gunicorn.conf.py

worker: install
	$(BIN)/celery -A app.worker:celery worker --loglevel INFO

beat: install
	$(BIN)/celery -A app.worker:celery beat --loglevel INFO --schedule instance/celerybeat-schedule

# gunicorn, a Celery worker and beat on this machine's PostgreSQL and Redis, a journey over HTTP.
prod-smoke: install
	bash scripts/prod_smoke.sh

# The load test against PostgreSQL, beside a bare Flask ceiling (load-short: a few seconds each).
load: install
	$(BIN)/python -m bench.load

load-short: install
	$(BIN)/python -m bench.load --short

# Lighthouse's mobile profile on the demo's main pages (Debian's chromium, Node): a table of
# scores, reports in test-artifacts/lighthouse, non-zero below 95 (.ci/lighthouse/audit.py).
lighthouse: install
	bash .ci/lighthouse/run

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache

# Extract each package's marked strings into its own catalogue (<package>/translations), then
# translate the new French ones there (a test fails while one is missing).
i18n: install
	@for pkg in app marketplace social payouts; do \
	  [ -d $$pkg/templates ] || [ -f $$pkg/__init__.py ] || continue; \
	  mkdir -p $$pkg/translations; \
	  $(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -o $$pkg/translations/messages.pot $$pkg || exit 1; \
	  if [ -f $$pkg/translations/fr/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel -q update -i $$pkg/translations/messages.pot -d $$pkg/translations --no-fuzzy-matching; \
	  else \
	    $(BIN)/pybabel -q init -i $$pkg/translations/messages.pot -d $$pkg/translations -l fr; \
	  fi; \
	done
	$(BIN)/flask i18n compile
