# Two commands on a fresh machine:
#   make report   # installs into .venv, runs the whole pipeline (params.yaml other than the
#                 # published recipe: in runs/local/, never over the published results)
#   make test     # installs into .venv, runs the tests
# A first look in minutes: make try (a smoke run in runs/try/: 2,000 reviews, 1 epoch, 1 seed).
# Also: make verify (does this machine reproduce the published run?), make readme (README's
# Results from the published files), make lock, make benchmark, make generated (rewrite every
# generated file: dvc.yaml, captions, README Results, fingerprints, lock), make check-generated,
# make pull (the published run's DVC outputs, from a remote the clone points at), make
# publish-remote DEST=folder (write that remote, for a maintainer).
# Knobs: make report CORES=4   make install TORCH="torch==2.13.0"   make install LOCK=no

VENV  ?= .venv
CORES ?= all
# The CPU build of 2.13.0 is what this project is measured with; any 2.x satisfies pyproject.
TORCH ?= torch==2.13.0
# Exact versions and hashes of every other package (requirements/lock.txt, resolved on
# Python 3.11). auto: use the lock where python3 is 3.11, else install pyproject's ranges.
LOCK  ?= auto
ifeq ($(filter $(LOCK),auto yes no),)
$(error LOCK=$(LOCK): use auto, yes or no)
endif
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCKFILE := requirements/lock.txt

# The stage programs are called as `python workflow/scripts/…`: run them with the venv's Python.
export PATH := $(abspath $(VENV))/bin:$(PATH)
# make params reads SET from the environment, so no shell ever parses its value; DEST likewise.
export SET DEST

.PHONY: install params try report pdf test verify pull publish-remote readme lock generated check-generated benchmark clean

install: $(STAMP)

$(STAMP): pyproject.toml $(LOCKFILE)
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	@if [ "$(LOCK)" = yes ] || { [ "$(LOCK)" = auto ] && $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; }; then \
	  echo "installing the locked versions ($(LOCKFILE))"; \
	  $(PY) -m pip install --quiet --require-hashes --no-deps -r $(LOCKFILE) && \
	  $(PY) -m pip install --quiet --no-deps -e . ; \
	else \
	  echo "note: $(LOCKFILE) is resolved for Python 3.11; installing pyproject.toml's ranges instead (numbers may differ from the published run: see docs/reproducibility.md)"; \
	  $(PY) -m pip install --quiet -e ".[test]" ; \
	fi
	$(PY) -m pip check
	touch $@

# Set params.yaml keys, validated, comments kept, e.g.
#   make params SET="data.url=/path/to/aclImdb_v1.tar.gz data.sha256=<its sha256>"
#   make params SET="report.title='My report' train.seeds='[1234, 1]'"
# SET is split like a shell line (quotes group words) but never run by a shell.
params: install
	@test -n "$$SET" || { echo 'error: nothing to set; e.g. make params SET="train.epochs=3"' >&2; exit 2; }
	$(PY) tools/set_params.py --words-from-env SET

# tools/run.py says first where the run goes and why, and ends with the report's path.
try: install
	$(PY) tools/run.py try --cores $(CORES)

report: install
	$(PY) tools/run.py report --cores $(CORES)

pdf: install
	snakemake --cores $(CORES) report/report.pdf

# One test file per worker at a time (its module fixtures built once), one worker per core
# (CORES=1: one worker); tests/conftest.py starts the longest files first.
test: install
	$(PY) -m pytest -n $(if $(filter all,$(CORES)),auto,$(CORES)) --dist loadfile --no-loadscope-reorder

# Does this machine reproduce the published run (dvc.lock and results/runs as committed)? Exit 0 only if so.
verify: install
	snakemake --cores $(CORES) verify

# After `dvc remote add --local -d published URL`: fetch the published run's DVC outputs, check
# them against dvc.lock, and mark them up to date for Snakemake too (a clone and a pull write
# files in an order whose times Snakemake would read as "rerun everything"; DVC has just checked
# their hashes, so the touch only records what is true).
pull: install
	dvc pull
	@dvc status --quiet || { dvc status; echo "error: the workspace is not what dvc.lock records (listed above): nothing marked up to date for Snakemake; the stages listed rerun" >&2; exit 1; }
	snakemake --cores 1 --touch --quiet

# Write the committed run's DVC outputs from this cache as a static remote any web server can
# serve (tools/publish_remote.py), e.g.  make publish-remote DEST=/var/www/imdb-rnn-dvc
publish-remote: install
	@test -n "$$DEST" || { echo 'error: name the folder, e.g. make publish-remote DEST=/var/www/imdb-rnn-dvc' >&2; exit 2; }
	$(PY) tools/publish_remote.py --dest "$$DEST"

# Rewrite README.md's Results block from results/ and report/ (after publishing a run).
readme: install
	$(PY) tools/readme_results.py

# Every generated file, from what it is made of (tools/generate.py says which and from what;
# `.venv/bin/python tools/generate.py dvc captions` writes only those). check-generated changes
# nothing and fails naming each stale file (.ci/run runs it).
generated: install
	$(PY) tools/generate.py

check-generated: install
	$(PY) tools/generate.py --check

# Re-resolve requirements/lock.txt from pyproject.toml (needs the package index).
lock:
	python3 -m venv .venv-lock
	.venv-lock/bin/pip install --quiet pip-tools
	.venv-lock/bin/pip-compile --quiet --generate-hashes --extra test --strip-extras \
	    --unsafe-package torch --no-emit-index-url --no-emit-find-links \
	    --constraint requirements/torch-cpu.txt --output-file $(LOCKFILE) pyproject.toml

benchmark: install
	$(PY) benchmarks/prepare_time.py
	$(PY) benchmarks/train_throughput.py
	$(PY) benchmarks/numerics_knobs.py

clean:
	rm -rf .snakemake logs
