# Kindred — the two commands of the quick start are `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := wsgi:app

.PHONY: install run test lint format migrate seed ci clean i18n

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

run: seed
	@$(BIN)/python -m app.demo_logins
	$(BIN)/flask run --host $(HOST) --port $(PORT) --debug --no-reload

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache

# Extract the marked strings and merge them into the catalogues; translate the new ones in
# app/translations/fr/LC_MESSAGES/messages.po (tests fail while one is missing).
i18n: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching
	$(BIN)/flask i18n compile
