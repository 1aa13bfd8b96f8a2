# Sunspace: two commands do everything on a fresh Debian machine.
#   make run    builds and starts Sunspace (for now the `sunspace` command-line program's overview)
#   make test   installs what it needs and runs the whole suite
#
# The build cache lives outside the clone so a fresh clone reuses it.

export CARGO_TARGET_DIR ?= $(HOME)/.cache/sunspace-target
CARGO ?= cargo
BIN := $(CARGO_TARGET_DIR)/release/sunspace

.PHONY: run test deps build bench lint fmt fuzz

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
	$(CARGO_TARGET_DIR)/release/sunspace-bench w1
	$(CARGO_TARGET_DIR)/release/sunspace-bench w3w4
	$(CARGO_TARGET_DIR)/release/sunspace-bench w2 --sunspace $(BIN)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# Coverage-guided fuzzing of every decoder (not part of `make test`: it runs as long as you let it).
# cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP lets the stable toolchain provide them.
FUZZ_SECONDS ?= 60
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for target in entry_decode sync_message_decode group_document_load invitation_decode relay_clients_decode; do \
	  RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$(HOME)/.cache/sunspace-fuzz-target cargo fuzz run $$target -- \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=8192 || exit 1; \
	done
