# Sunspace: two commands do everything on a fresh Debian machine.
#   make run    installs what it needs, builds the UI and the desktop app, and opens the Sunspace window
#   make test   installs what it needs and runs the whole suite: Rust tests, UI unit tests, and the end-to-end
#               test of the real app window under Xvfb
#
# The build cache lives outside the clone so a fresh clone reuses it.

export CARGO_TARGET_DIR ?= $(HOME)/.cache/sunspace-target
CARGO ?= cargo
BIN := $(CARGO_TARGET_DIR)/release/sunspace
APP := $(CARGO_TARGET_DIR)/release/sunspace-app
TAURI_DRIVER := $(HOME)/.cargo/bin/tauri-driver

.PHONY: run test deps ui build bench lint fmt fuzz package bindings e2e

# Debian packages the build and the tests use. Installed only when missing, so repeated runs stay quick.
# WebKitGTK and GTK for the Tauri window; Xvfb, xauth, dbus and WebKitWebDriver for the end-to-end test;
# iproute2 for the network-namespace tests; nodejs/npm only if the machine has no Node.js.
DEB_PACKAGES := build-essential pkg-config util-linux iproute2 file \
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev \
  xvfb xauth dbus-x11 webkit2gtk-driver imagemagick

deps:
	@missing=""; \
	for pkg in $(DEB_PACKAGES); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	command -v node >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends $$missing; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "Rust (cargo) is needed: see https://rustup.rs"; exit 1; }
	@# `npm install --no-save` rather than `npm ci`: lock files written where npm omits the registry addresses
	@# (this machine's npmrc) make `npm ci` refuse the other platforms' optional packages.
	@test -d ui/node_modules && test ui/node_modules/.package-lock.json -nt ui/package-lock.json || \
	  (cd ui && npm install --no-audit --no-fund --no-save)

# The UI, built into ui/dist (which the app binary embeds).
ui: deps
	cd ui && npm run build

build: ui
	$(CARGO) build --release -p sunspace-cli -p sunspace-app

run: build
	@if [ -z "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	  echo "No display here: opening the Sunspace window on a virtual screen (Xvfb). The command line is $(BIN)"; \
	  xvfb-run -a -s "-screen 0 1280x900x24" $(APP); \
	else $(APP); fi

test: ui
	$(CARGO) build --workspace --all-targets
	$(CARGO) test --workspace --no-fail-fast
	cd ui && npm test
	$(MAKE) e2e

# The end-to-end test of the real app window (see ui/e2e/run.mjs); screenshots land in ui/e2e/artifacts/.
e2e: ui
	@test -x $(TAURI_DRIVER) || $(CARGO) install tauri-driver --version "^2" --locked
	$(CARGO) build --workspace --all-targets  # the same build as `test`'s, so nothing is rebuilt
	cd ui && TAURI_DRIVER=$(TAURI_DRIVER) dbus-run-session -- xvfb-run -a -s "-screen 0 1280x900x24" node e2e/run.mjs

# A Debian package of the desktop app (Tauri's deb bundler works offline), in $(CARGO_TARGET_DIR)/release/bundle/deb/.
package: ui
	cd app && ../ui/node_modules/.bin/tauri build --bundles deb

# Regenerates the UI's TypeScript types from the Rust ones (a test fails while they are out of date).
bindings:
	SUNSPACE_WRITE_BINDINGS=1 $(CARGO) test -p sunspace-api --lib ui_bindings

# Benchmarks are not tests: they print figures (see docs/benchmarks.md).
bench: deps
	$(CARGO) build --release -p sunspace-cli -p sunspace-bench
	cd crates/bench/peers/automerge-repo && npm install --no-audit --no-fund --no-save
	$(CARGO_TARGET_DIR)/release/sunspace-bench w1 --automerge-repo crates/bench/peers/automerge-repo
	$(CARGO_TARGET_DIR)/release/sunspace-bench w3w4
	$(CARGO_TARGET_DIR)/release/sunspace-bench edit
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
	cd fuzz && for target in entry_decode sync_message_decode group_document_load invitation_decode relay_clients_decode evidence_decode change_vetting carry_file_open checkpoint_decode; do \
	  RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$(HOME)/.cache/sunspace-fuzz-target cargo fuzz run $$target -- \
	    -max_total_time=$(FUZZ_SECONDS) -max_len=8192 || exit 1; \
	done
