# The two commands a new user needs: `make run` and `make test`. Both set up .venv by themselves.
# `make check` is the quick loop while working on it (see the README's Development section).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell $(PYTHON) -c 'import hashlib,sys; print(hashlib.sha256(open("pyproject.toml","rb").read()+open("constraints.txt","rb").read()).hexdigest()[:12])' 2>/dev/null)

# pytest-xdist workers for the tests: one per core
WORKERS ?= auto

.PHONY: run check test lint bench bench-pages bench-copies clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP)
	$(BIN)/watcher run

lint: $(STAMP)
	$(BIN)/ruff check watcher tests bench
	$(BIN)/ruff format --check watcher tests bench
	$(BIN)/mypy watcher tests

# Under a minute on two cores: lint, types and every test not marked slow.
check: lint
	$(BIN)/pytest -m "not slow" -n $(WORKERS) -q

# The whole gate, what CI runs: lint, types, every test on every core, then the ones marked
# serial, alone.
test: lint
	$(BIN)/pytest -m "not serial" -n $(WORKERS) --dist loadgroup
	$(BIN)/pytest -m serial

# The benchmark against urlwatch (not a test; needs nginx): about 30 minutes on two cores,
# most of it urlwatch at 10,000 pages. BENCH="--pages 1000" takes about 6 minutes (the
# WordPress path included); `bench/run.py --help` lists the options.
BENCH ?= --pages 1000 10000 --write-results bench/RESULTS.md
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH)

# How fast the web pages answer at 10,000 releases of three versions each: about 5 minutes.
BENCH_PAGES ?= --write-results bench/PAGES.md
bench-pages: $(STAMP)
	$(BIN)/python bench/pages.py $(BENCH_PAGES)

# How well re-posts are linked to their origin (precision and recall on seeds not used for
# tuning) and what matching one release against 10,000 stored ones costs: about a minute.
BENCH_COPIES ?=
bench-copies: $(STAMP)
	$(BIN)/python bench/copies.py $(BENCH_COPIES)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
