# DTI portal: `make run` serves the portal with demo data on SQLite; `make test` runs the suite.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV := UV_PYTHON_DOWNLOADS=never $(BIN)/uv
MANAGE := $(BIN)/python manage.py
DEMO_PASSWORD ?= demo12345
export DEBUG ?= 1

.PHONY: install run test test-fast test-slow lint messages bench backup restore vendor clean

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PY) not found)"; exit 1; }
	$(PY) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml uv.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check "uv==0.13.9"
	$(UV) sync --frozen --all-groups -p $(BIN)/python
	@touch $@

install: $(VENV)/.installed

run: install
	$(MANAGE) migrate --noinput
	$(MANAGE) compilemessages --ignore=.venv -v 0 || true
	$(MANAGE) seed_demo --password $(DEMO_PASSWORD)
	@echo "Portal: http://127.0.0.1:8000  (Ctrl+C to stop)"
	$(MANAGE) runserver 127.0.0.1:8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DTI_TESTING=1 $(BIN)/mypy agencies indicators evidence scoring dti_portal
	DTI_TESTING=1 $(MANAGE) makemigrations --check --dry-run
	DTI_TESTING=1 $(MANAGE) check

test: lint
	DEBUG=0 $(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

test-fast: install
	DEBUG=0 $(BIN)/pytest -m "not slow and not e2e" -x -q $(PYTEST_ARGS)

test-slow: install
	DEBUG=0 $(BIN)/pytest -m slow $(PYTEST_ARGS)

messages: install
	$(MANAGE) makemessages -l en --ignore=.venv --ignore=node_modules --ignore=static
	$(BIN)/python scripts/po_fill.py locale/en/LC_MESSAGES/django.po locale/en.json
	$(MANAGE) compilemessages --ignore=.venv

bench: install
	$(BIN)/python bench/run.py

# `make backup` writes a new directory under backups/ unless BACKUP_DIR names one (empty or new);
# `make restore` reads the one BACKUP_DIR names, never a default.
BACKUP_DIR ?= backups/$(shell date +%Y%m%d-%H%M%S)

backup: install
	$(BIN)/python scripts/backup.py backup $(BACKUP_DIR)

restore: install
	@if [ "$(origin BACKUP_DIR)" = file ]; then \
	  echo "make restore needs the backup to read: make restore BACKUP_DIR=backups/YYYYmmdd-HHMMSS"; \
	  echo "(stop the portal's web, worker and beat first). Backups here:"; \
	  ls -1d backups/*/ 2>/dev/null || echo "  none"; \
	  exit 2; \
	fi
	$(BIN)/python scripts/backup.py restore $(BACKUP_DIR)

vendor:
	bash scripts/vendor.sh

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles tests/artifacts
