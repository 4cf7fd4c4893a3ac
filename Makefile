# Once-Only Hub — the two commands: `make demo` and `make test`.
# Both create the virtual environment, install the project, and start Kafka and the schema
# registry (fetched from Maven Central on first use) if none is reachable.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install stack demo test unit bench bench-route down status clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

stack: install
	$(BIN)/hub dev up

demo: stack
	$(BIN)/hub demo

# The browser tests drive Debian's chromium (Playwright never downloads one here); the CJK fonts
# make the pages' Chinese legible in screenshots. Installed with apt when missing (as root).
browser:
	@if command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q .; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing chromium and fonts-noto-cjk with apt-get"; \
	  apt-get install -y -qq chromium fonts-noto-cjk >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }; \
	else echo "warning: chromium or a CJK font is missing and this is not root: the browser tests" \
	  "will be skipped (sudo apt-get install chromium fonts-noto-cjk)"; fi

test: stack browser
	$(BIN)/python -m pytest

unit: install
	$(BIN)/python -m pytest tests/unit

bench: stack
	$(BIN)/python -m bench.publish_bench

bench-route: stack
	$(BIN)/python -m bench.route_bench --rate-fraction 0.5

.PHONY: bench-ingest
bench-ingest: stack
	$(BIN)/python -m bench.ingest_bench

.PHONY: bench-inbox
bench-inbox: stack
	$(BIN)/python -m bench.inbox_bench

.PHONY: bench-timeline
bench-timeline: stack
	$(BIN)/python -m bench.timeline_bench

.PHONY: bench-replay
bench-replay: stack
	$(BIN)/python -m bench.replay_bench

.PHONY: bench-verify
bench-verify: stack
	$(BIN)/python -m bench.verify_bench --records 100000

CLUSTER_ENV := HUB_STATE_DIR=$(CURDIR)/.state-cluster HUB_BOOTSTRAP_SERVERS=127.0.0.1:19092 HUB_SCHEMA_REGISTRY_URL=http://127.0.0.1:18080/apis/ccompat/v7
.PHONY: cluster-up cluster-down cluster-status test-cluster
# A three-node stack beside the single-node one (its own state directory and ports).
cluster-up: install
	$(CLUSTER_ENV) $(BIN)/hub dev up --brokers 3
cluster-down:
	$(CLUSTER_ENV) $(BIN)/hub dev down
cluster-status: install
	$(CLUSTER_ENV) $(BIN)/hub dev status
test-cluster: install
	HUB_TEST_CLUSTER=1 $(BIN)/python -m pytest tests/integration/devstack/test_cluster.py

.PHONY: test-faults
# The fault matrix (tests/faults): stacks of its own, about an hour; figures in RELIABILITY.md.
test-faults: install
	HUB_TEST_FAULTS=1 $(BIN)/python -m pytest tests/faults -p no:cacheprovider -s

.PHONY: bench-security
bench-security: stack
	$(BIN)/python -m bench.security_bench

.PHONY: bench-shredding
# What encrypting people's fields to their own keys costs per event (in-process: no stack needed).
bench-shredding: install
	$(BIN)/python -m bench.shredding_bench

.PHONY: bench-rss
# The router's memory over 1,000,000 routed events (about 80 minutes here, at the router's 200–250 events/s).
bench-rss: stack
	$(BIN)/python -m bench.rss_bench

.PHONY: bench-all
# Every benchmark in its short mode, one after another: under ten minutes on this 2-core machine
# with the dev stack up. Each writes bench/results/all-<time>/<name>.json (figures, ratios,
# options, versions, load average at start and end), <name>.md (its table) and <name>.log (its
# progress and errors); bench/summary.py then prints each one's headline figure and ratio, and
# the target fails if any bench failed its checks. Short runs are small samples: quote the full
# ones (BENCHMARKS.md). bench/route has no --short: its sizes are given here. rss --short routes
# 1,500 events: the worker, its restarts and its checks, not memory growth (make bench-rss).
bench-all: SHELL := /bin/bash
bench-all: stack
	@dir=bench/results/all-$$(date +%Y%m%d-%H%M%S); mkdir -p $$dir; echo "bench-all: results in $$dir"; \
	one() { name=$$1; shift; started=$$SECONDS; printf '%-10s ' $$name; \
	  $(BIN)/python -m "$$@" --json $$dir/$$name.json >$$dir/$$name.md 2>$$dir/$$name.log; \
	  rc=$$?; echo "$$rc $$((SECONDS - started))" >$$dir/$$name.status; \
	  echo "exit $$rc after $$((SECONDS - started)) s"; }; \
	one publish   bench.publish_bench --short; \
	one route     bench.route_bench --events 400 --rounds 1 --duration 5 --stage-events 200; \
	one inbox     bench.inbox_bench --short; \
	one timeline  bench.timeline_bench --short; \
	one replay    bench.replay_bench --short; \
	one verify    bench.verify_bench --short; \
	one security  bench.security_bench --short; \
	one shredding bench.shredding_bench --short; \
	one rss       bench.rss_bench --short; \
	one ingest    bench.ingest_bench --short; \
	echo; $(BIN)/python -m bench.summary $$dir | tee $$dir/summary.txt; exit $${PIPESTATUS[0]}

status: install
	$(BIN)/hub dev status

down:
	$(BIN)/hub dev down

clean: down
	rm -rf .state $(VENV)
