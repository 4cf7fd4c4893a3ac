# Once-Only Hub — the two commands: `make demo` and `make test`.
# Both create the virtual environment, install the project, and start Kafka and the schema
# registry (fetched from Maven Central on first use) if none is reachable.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install stack demo test unit bench bench-route down status clean

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

test: stack
	$(BIN)/python -m pytest

unit: install
	$(BIN)/python -m pytest tests/unit

bench: stack
	$(BIN)/python -m bench.publish_bench

bench-route: stack
	$(BIN)/python -m bench.route_bench

.PHONY: bench-timeline
bench-timeline: stack
	$(BIN)/python -m bench.timeline_bench

.PHONY: bench-replay
bench-replay: stack
	$(BIN)/python -m bench.replay_bench

.PHONY: bench-verify
bench-verify: stack
	$(BIN)/python -m bench.verify_bench --records 100000

.PHONY: bench-security
bench-security: stack
	$(BIN)/python -m bench.security_bench

.PHONY: bench-rss
# The router's memory over 1,000,000 routed events (about 40 minutes at 450 events/s).
bench-rss: stack
	$(BIN)/python -m bench.rss_bench

status: install
	$(BIN)/hub dev status

down:
	$(BIN)/hub dev down

clean: down
	rm -rf .state $(VENV)
