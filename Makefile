# Two commands on a fresh machine:
#   make report   # installs into .venv, runs the whole pipeline, writes report/
#   make test     # installs into .venv, runs the tests
# Knobs: make report CORES=4   make install TORCH="torch==2.13.0"

VENV  ?= .venv
CORES ?= all
# The CPU build of 2.13.0 is what this project is measured with; any 2.x satisfies pyproject.
TORCH ?= torch==2.13.0
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# The stage programs are called as `python workflow/scripts/…`: run them with the venv's Python.
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install report pdf test benchmark clean

install: $(STAMP)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

report: install
	snakemake --cores $(CORES)

pdf: install
	snakemake --cores $(CORES) report/report.pdf

test: install
	$(PY) -m pytest

benchmark: install
	$(PY) workflow/scripts/benchmark_prepare.py
	$(PY) workflow/scripts/benchmark_train.py

clean:
	rm -rf .snakemake logs
