# make demo: create .venv, install, fit the bundled example, write a report.
# make test: same install with dev extras, then the whole test suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STAMP_DEV := $(VENV)/.installed-dev

# A usable interpreter is one that runs and is >= 3.12 (pyenv shims may exist on
# PATH yet fail to run, so each candidate is executed, not just looked up).
PY_OK = -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'
FIND_PYTHON = for c in python3.13 python3.12 \
	  $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV) python3; do \
	  if command -v $$c >/dev/null 2>&1 && $$c $(PY_OK) >/dev/null 2>&1; then echo $$c; break; fi; done

.PHONY: demo test example install install-dev clean-venv help

help:
	@echo "make demo   - install and fit the bundled example; writes reports/<run>/report.html"
	@echo "make test   - install with dev extras and run the whole test suite"

$(PY):
	@py=$$($(FIND_PYTHON)); \
	if [ -z "$$py" ]; then \
	  echo "error: no Python >= 3.12 found (tried python3.13, python3.12, pyenv versions, python3)." >&2; \
	  echo "fix: install one, e.g. 'pyenv install 3.12' or your OS package python3.12, then rerun make." >&2; \
	  exit 2; fi; \
	echo "creating $(VENV) with $$py ($$($$py --version))"; \
	$$py -m venv $(VENV) && $(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e .
	@touch $@

$(STAMP_DEV): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP)
install-dev: $(STAMP_DEV)

# exit 1 = fitted, but diagnostics failed: the run and its report (with a red warning) are written
demo: install
	@$(VENV)/bin/mmm demo; rc=$$?; \
	if [ $$rc -eq 1 ]; then echo "note: diagnostics failed; see the warning in the report" >&2; exit 0; fi; \
	exit $$rc

# reports/example: what finance receives, regenerated from the bundled demo (small files only)
example: install
	@tmp=$$(mktemp -d); $(VENV)/bin/mmm demo --out $$tmp/run --no-progress; rc=$$?; \
	if [ $$rc -gt 1 ]; then rm -rf $$tmp; exit $$rc; fi; \
	rm -rf reports/example && mkdir -p reports/example && \
	cp $$tmp/run/report.html $$tmp/run/roi.xlsx $$tmp/run/roi.csv $$tmp/run/summary.json \
	   $$tmp/run/manifest.json $$tmp/run/config.yaml reports/example/ && rm -rf $$tmp && \
	echo "wrote reports/example/ ($$(du -sh reports/example | cut -f1))"

# two pytest processes, each test file in one of them (its fixtures built once): a fit's compile is
# single-threaded, so one process leaves a core idle much of the time
PYTEST_ARGS ?= -n 2 --dist loadfile

test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
