# The two commands of the README: `make run` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
PORT ?= 8000
CHROMIUM := /usr/bin/chromium

.PHONY: run test install lint migrations-check deploy-check pytest system-packages messages worker clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

# The project's bytecode, compiled ahead (pip compiles the libraries'). Where PYTHONDONTWRITEBYTECODE
# is set, as on this machine and in many containers, Python writes none, and every start of
# manage.py (a command, the worker, the server) compiled some 150 of the project's modules again:
# 0.25 s of the 1.1 s a roster import took to start. Up to date, this takes a tenth of a second.
APPS := $(patsubst %/apps.py,%,$(wildcard */apps.py))

install: $(VENV)/.installed
	@$(PY) -m compileall -q $(APPS) manage.py >/dev/null

# System packages the tests need: the system Chromium for the browser tests (Playwright's own
# browser downloads are not used), a Chinese font (without one the printouts' page counts and
# texts are wrong) and GNU gettext for the catalogue check.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-packages:
	@test -x $(CHROMIUM) && command -v xgettext >/dev/null && fc-list :lang=zh | grep -q . || { \
	  echo "Installing Chromium, a Chinese font and gettext"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-noto-cjk gettext >/dev/null; }

run: install
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo
	@echo "Registrar on http://127.0.0.1:$(PORT)/ with a background worker; Ctrl-C stops both."
	@trap 'kill 0' EXIT INT TERM; \
	  $(MANAGE) db_worker --queue-name default & \
	  $(MANAGE) runserver 127.0.0.1:$(PORT)

worker: install
	$(MANAGE) db_worker --queue-name default

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

migrations-check: install
	$(MANAGE) makemigrations --check --dry-run

# Production settings: debug off, a real secret, hosts set. Must report nothing.
deploy-check: install
	DJANGO_DEBUG=0 DJANGO_ALLOWED_HOSTS=registrar.example.org \
	DJANGO_SECRET_KEY="deploy-check-$$(openssl rand -hex 32 2>/dev/null || echo 0123456789abcdef0123456789abcdef0123456789abcdef)" \
	  $(MANAGE) check --deploy --fail-level WARNING

pytest: install system-packages
	$(PY) -m pytest -q

test: lint migrations-check deploy-check pytest

# Refresh the zh_Hans catalogue after changing UI text, then translate and compile it.
messages: install
	$(MANAGE) makemessages -l zh_Hans --no-obsolete --no-location
	$(MANAGE) compilemessages -l zh_Hans

clean:
	rm -rf $(VENV) staticfiles
