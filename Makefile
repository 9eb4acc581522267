# The two commands of the README: `make demo` and `make test`. Both set up everything they need first.
SHELL := /bin/bash
# uv is the only tool installed into the user's Python; everything else comes from the lockfile or `cqrs stack install`.
UV_VERSION := 0.13.8
UV := $(shell command -v uv >/dev/null 2>&1 && echo uv || echo python3 -m uv)

.PHONY: setup demo test check unit stack-up stack-down stack-status

setup:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install -q "uv==$(UV_VERSION)"
	$(UV) sync --frozen --compile-bytecode
	@# Bytecode for our own packages too: every process the stack and the tests start (apps, workers, the CLI) would
	@# otherwise compile its imports again wherever bytecode is not written (PYTHONDONTWRITEBYTECODE).
	$(UV) run python -m compileall -q -j 0 cqrs writer readapi connectors streams servicekit schemas infra
	$(UV) run python -m writer.grpc  # the gRPC stubs generated from schemas/proto (git-ignored)
	$(UV) run cqrs stack install

demo: setup
	$(UV) run cqrs demo

# Lint, format, types, and the layers: import-linter's contracts in pyproject.toml (dependencies point down).
check:
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy
	$(UV) run lint-imports

# pytest exits 5 when it collected nothing: for this project that is a broken suite, so it fails on purpose, loudly.
test: setup check
	@$(UV) run pytest -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "FAILED: pytest collected no tests"; exit 1; fi; exit $$rc

unit:
	$(UV) run pytest -m "not stack" tests

stack-up:
	$(UV) run cqrs stack up

stack-down:
	$(UV) run cqrs stack down

stack-status:
	$(UV) run cqrs stack status
