# presence-sync — common tasks. `make demo` and `make test` are the README's first two commands.
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# System packages the build and tests need: SQLite's headers and library, and the sqlite3 CLI the tests and
# operators use to read the database while the daemon runs.
SYSTEM_PACKAGES := libsqlite3-dev sqlite3

.PHONY: deps build release demo test bench clean

## Install missing system packages (Debian/Ubuntu).
deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## The daemon against the built-in simulated tenant; Ctrl-C stops it.
demo: deps
	$(SWIFT) run presence-sync demo

## Every test: unit, integration (daemon + simulator over loopback), process and signal tests.
test: deps
	$(SWIFT) test

## The benchmark (release build, simulator and daemon as separate processes).
bench: release
	.build/release/presence-sync benchmark

clean:
	rm -rf .build
