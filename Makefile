# Sunspace: two commands do everything on a fresh Debian machine.
#   make run    builds and starts Sunspace (for now the `sunspace` command-line program's overview)
#   make test   installs what it needs and runs the whole suite
#
# The build cache lives outside the clone so a fresh clone reuses it.

export CARGO_TARGET_DIR ?= $(HOME)/.cache/sunspace-target
CARGO ?= cargo
BIN := $(CARGO_TARGET_DIR)/release/sunspace

.PHONY: run test deps build bench bench-w2 lint fmt clean-data

# Debian packages the build and the tests use. Installed only when missing, so repeated runs stay quick.
DEB_PACKAGES := build-essential pkg-config util-linux

deps:
	@missing=""; \
	for pkg in $(DEB_PACKAGES); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends $$missing; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "Rust (cargo) is needed: see https://rustup.rs"; exit 1; }

build: deps
	$(CARGO) build --release -p sunspace-cli

run: build
	@$(BIN)

test: deps
	$(CARGO) build --workspace --all-targets
	$(CARGO) test --workspace --no-fail-fast

# Benchmarks are not tests: they print figures (see docs/benchmarks.md).
bench: deps
	$(CARGO) build --release -p sunspace-cli -p sunspace-bench
	$(CARGO_TARGET_DIR)/release/sunspace-bench w2 --sunspace $(BIN)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all
