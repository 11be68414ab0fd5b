# Thin dispatcher: every target sets up what it needs itself, so a fresh clone only needs
# Python 3.11+, make and git.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
GEN := gen
PROTOS := $(shell find protos -name '*.proto' 2>/dev/null)
GEN_STAMP := $(GEN)/.stamp
PYTEST_ARGS ?=
BENCH_ARGS ?=
FUZZ_ARGS ?=

.PHONY: help setup run test lint fmt protos bench soak fuzz clean unit integration e2e browser images tools

help:
	@echo "make run     start the whole local stack (https://localhost:8443)"
	@echo "make test    set up and run lint plus the whole test suite"
	@echo "make lint    ruff and mypy (strict)"
	@echo "make images  build the four service images and the test PostgreSQL image (Docker)"
	@echo "make browser install Debian's chromium for the browser tests (needs root and apt-get)"
	@echo "make fmt     format the code"
	@echo "make protos  generate Python code from protos/"
	@echo "make bench   run the benchmarks under bench/ (BENCH_ARGS=\"roster --quick\")"
	@echo "make soak    ten minutes of mixed traffic, a table a minute (SOAK_ARGS=\"--rate 40\")"
	@echo "make fuzz    schemathesis against a stack of its own, longer than make test (FUZZ_ARGS=\"--max-examples 500 --seed 7\")"
	@echo "make clean   remove the virtual environment and generated code (keeps var/)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev]'
	@# Generated code is importable as the top-level package `trackcc` from gen/.
	$(PY) -c 'import site, pathlib; pathlib.Path(site.getsitepackages()[0], "trackcc_gen.pth").write_text(str(pathlib.Path("$(GEN)").resolve()) + "\n")'
	@touch $@

$(GEN_STAMP): $(STAMP) $(PROTOS)
	rm -rf $(GEN) && mkdir -p $(GEN)
	$(PY) -m grpc_tools.protoc -Iprotos \
		--plugin=protoc-gen-mypy=$(VENV)/bin/protoc-gen-mypy \
		--plugin=protoc-gen-mypy_grpc=$(VENV)/bin/protoc-gen-mypy_grpc \
		--python_out=$(GEN) --grpc_python_out=$(GEN) \
		--mypy_out=$(GEN) --mypy_grpc_out=$(GEN) $(PROTOS)
	$(PY) -c 'import pathlib; [(d / "__init__.py").touch() for d in pathlib.Path("$(GEN)/trackcc").rglob("*") if d.is_dir()]; pathlib.Path("$(GEN)/trackcc/__init__.py").touch()'
	@touch $@

setup: $(GEN_STAMP)

protos: $(GEN_STAMP)

run: setup
	$(PY) -m services.localstack

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The web client's e2e test drives Debian's Chromium (never a browser Playwright downloads).
# A missing browser fails here, in one line, rather than as a skipped test.
CHROMIUM := /usr/bin/chromium

browser:
	@test -x $(CHROMIUM) || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || true
	@test -x $(CHROMIUM) || { echo "$(CHROMIUM) is missing: install Debian's chromium package (as root: apt-get install chromium)" >&2; exit 1; }

# Outside scanners whose pins clash with the project's live in virtual environments of their
# own under .tools/, installed exactly from their lock in tests/tools/.
TOOLS := .tools
TOOL_LOCKS := $(wildcard tests/tools/*.txt)
TOOL_STAMPS := $(patsubst tests/tools/%.txt,$(TOOLS)/%/.installed-stamp,$(TOOL_LOCKS))

$(TOOLS)/%/.installed-stamp: tests/tools/%.txt
	rm -rf $(TOOLS)/$*
	$(PYTHON) -m venv $(TOOLS)/$*
	$(TOOLS)/$*/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r $<
	@touch $@

tools: $(TOOL_STAMPS)

test: lint browser tools
	$(PY) -m pytest $(PYTEST_ARGS)

unit: setup
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

integration: setup tools
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

e2e: setup browser
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

# The images are built from Debian's packages (debootstrap, as root) and the locked wheels,
# with no registry; IMAGE_BASE=production builds on the Dockerfile's pinned python:3.11-slim.
IMAGE_BASE ?= local

images: setup
	$(PY) -m deploy.docker.images $(if $(filter production,$(IMAGE_BASE)),--production-base)

bench: setup
	@# wrk (Debian) loads the stack with far less CPU than a Python generator on the same cores.
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		(apt-get install -y -qq wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk)); } \
		|| echo "wrk is not installed: the benches use the Python load generator"
	$(PY) -m bench $(BENCH_ARGS)

# Ten minutes of mixed traffic against a fresh local stack; not part of `make test`.
SOAK_ARGS ?=

soak: setup
	$(PY) -m bench.soak $(SOAK_ARGS)

# The suite's bounded run is tests/e2e/test_fuzz_api.py; this one goes further, new seed each time.
fuzz: setup
	$(PY) -m tests.e2e.fuzz $(FUZZ_ARGS)

clean:
	rm -rf $(VENV) $(GEN) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
