# leakmon: every target sets itself up (virtualenv + locked install) on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: setup test test-telethon-oldest test-fast lint bench eval demo fuzz clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

KERNEL_SOURCES := $(wildcard matchers/kernel/*.c matchers/kernel/*.h)

# uv rebuilds the project (the C kernel) when pyproject.toml or a kernel source changes (tool.uv.cache-keys).
# Bytecode is compiled once here: where PYTHONDONTWRITEBYTECODE is set (this machine kind sets it), every
# command would otherwise compile its ~540 modules again (leakmon --help: 2.9 s CPU -> 1.2 s).
$(STAMP): $(UV) Makefile pyproject.toml uv.lock $(KERNEL_SOURCES)
	$(UV) sync --frozen --all-extras --compile-bytecode --python $(PYTHON)
	$(VENV)/bin/python -m compileall -q -j 0 crawlers matchers storage leakmon >/dev/null
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(VENV)/bin/python -m pytest -n 2 --dist loadgroup
	$(MAKE) --no-print-directory test-telethon-oldest

# The Telegram reader supports Telethon 1.39 (the oldest) through the pinned 1.45: the Telegram
# tests run again with 1.39 layered over the project environment (fetched from PyPI once, cached).
TELETHON_OLDEST := 1.39.0
test-telethon-oldest: $(STAMP)
	$(UV) run --no-sync --with telethon==$(TELETHON_OLDEST) python -m pytest -n 2 -p no:cacheprovider tests/crawlers/telegram

test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -n 2 -m "not slow and not postgres"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(VENV)/bin/python scripts/bench.py

eval: $(STAMP)
	$(VENV)/bin/python scripts/eval_detect.py

demo: $(STAMP)
	$(VENV)/bin/python scripts/demo.py

FUZZ_SECONDS ?= 120
FUZZ_DIR := build/fuzz
# The native kernel under libFuzzer with AddressSanitizer + UndefinedBehaviorSanitizer, time-boxed
# (FUZZ_SECONDS); not part of `make test`. Needs clang (Debian: apt-get install clang).
fuzz:
	@command -v clang >/dev/null || { echo "make fuzz needs clang with libFuzzer (Debian: apt-get install clang)"; exit 2; }
	mkdir -p $(FUZZ_DIR)/corpus
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		matchers/kernel/fuzz.c matchers/kernel/scan.c matchers/kernel/weak.c matchers/kernel/address.c -lcrypto \
		-o $(FUZZ_DIR)/kernel_fuzz
	$(FUZZ_DIR)/kernel_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
		-dict=matchers/kernel/fuzz.dict $(FUZZ_DIR)/corpus

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache demo-out
