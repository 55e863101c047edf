# Two commands do all the set-up on a fresh machine (Python 3.11, pip and git):
#   make demo   run the pipeline DAG (upload, fine-tune, deploy) end to end against the local emulator
#   make test   run the whole test suite (Airflow 3) in parallel; `make test-airflow2` runs it on Airflow 2.11
#   make test-fast   only the fast tier (no Airflow subprocess, no DAG run, no real stack): a minute or so
#   make lint   ruff (lint and format check), mypy and import-linter (the layers in pyproject.toml)
#   make docs   build the documentation site strictly into site/ (make docs-serve: serve it on 127.0.0.1:8000)
#   make dist   build the sdist and the wheel into dist/ and check them (twine check --strict)
#   make dist-check   make dist, then install the wheel into a fresh virtualenv and run the demo DAG from it
PYTHON ?= python3
AIRFLOW_VERSION ?= 3.3.2
VENV ?= .venv
PYTEST_ARGS ?=
# pytest-xdist workers: most tests wait on subprocesses and polls more than they compute, so twice the 2 cores CI has.
# `--dist loadgroup` uses the work units of tests/conftest.py (a module, a single DAG test, a lane of stack tests).
TEST_WORKERS ?= 4
XDIST = -n $(TEST_WORKERS) --dist loadgroup

.PHONY: demo test test-fast test-random test-airflow2 lint install system-deps emulator clean docs docs-serve docs-install \
	dist dist-check

install:
	@PYTHON=$(PYTHON) scripts/bootstrap.sh $(VENV) $(AIRFLOW_VERSION)

demo: install
	$(VENV)/bin/python scripts/demo.py

# PostgreSQL and Chromium for the real-stack tests: installed when missing and running as root with apt;
# otherwise those tests skip and say why.
system-deps:
	@scripts/system-deps.sh || true

test: install system-deps
	$(VENV)/bin/python -m pytest $(XDIST) $(PYTEST_ARGS)

test-fast: install
	$(VENV)/bin/python -m pytest $(XDIST) -m "not slow and not stack" $(PYTEST_ARGS)

# The fast tier in a random order (pytest-randomly, off otherwise): it prints its seed; repeat an order with
# `make test-random PYTEST_ARGS="--randomly-seed=N"`.
test-random: install
	$(VENV)/bin/python -m pytest $(XDIST) -p randomly -m "not slow and not stack" $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check airflow_provider_dashscope tests example_dags scripts benchmarks
	$(VENV)/bin/ruff format --check airflow_provider_dashscope tests example_dags scripts benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test-airflow2:
	$(MAKE) test AIRFLOW_VERSION=2.11.2 VENV=.venv-airflow2

# The `docs` extra (MkDocs, Material, mkdocstrings) on top of `make install`, once per change of pyproject.toml.
docs-install: install
	@if [ ! "$(VENV)/.installed-docs" -nt pyproject.toml ]; then \
	  echo "Installing the docs extra into $(VENV) ..."; \
	  .tools/bin/uv pip install -q --python $(VENV)/bin/python -e ".[docs]" \
	    -c constraints/airflow-$(AIRFLOW_VERSION)-py$$($(VENV)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])').txt \
	  && touch $(VENV)/.installed-docs; fi

docs: docs-install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: docs-install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8000

dist: install
	rm -rf dist
	$(VENV)/bin/python -m build --outdir dist .
	$(VENV)/bin/twine check --strict dist/*

dist-check: dist
	$(VENV)/bin/python scripts/dist_check.py --airflow-version $(AIRFLOW_VERSION)

emulator: install
	$(VENV)/bin/dashscope-emulator --host 127.0.0.1 --port 8089

clean:
	rm -rf .venv .venv-airflow2 .tools .demo site dist build airflow_provider_dashscope.egg-info
