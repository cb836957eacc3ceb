# presence-sync — common tasks. `make demo` and `make test` are the README's first two commands.
SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# System packages the build and tests need: SQLite's headers and library, and the sqlite3 CLI the tests and
# operators use to read the database while the daemon runs.
SYSTEM_PACKAGES := libsqlite3-dev sqlite3
## The tests also start throwaway PostgreSQL servers (the PostgreSQL mirror's tests; openssl makes the TLS one's certificate); only `make test` needs them.
TEST_PACKAGES := postgresql openssl

.PHONY: deps build release demo test fuzz bench bench-delivery storage-floor clean install uninstall unit-check

## Install missing system packages (Debian/Ubuntu).
deps:
	@missing=""; for p in $(SYSTEM_PACKAGES) $(EXTRA_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

## The Swift runtime is linked in (--static-swift-stdlib): the installed binary needs no toolchain on the server,
## and it starts with less memory mapped (the benchmark's peak RSS at 100,000 users is about 4 MiB lower).
release: deps
	$(SWIFT) build -c release --static-swift-stdlib

## The daemon against the built-in simulated tenant; Ctrl-C stops it.
demo: deps
	$(SWIFT) run presence-sync demo

## Every test: unit, integration (daemon + simulator over loopback), process and signal tests.
## One test at a time: many tests still wait on the wall clock (token refresh, backoff, polling pace), and on 2 cores
## they failed when they ran beside the process tests (daemons, simulators, PostgreSQL servers): 3 of 4 parallel
## runs had such a failure, the serial run none (about 3.5 min instead of 1).
test:
	@$(MAKE) --no-print-directory deps EXTRA_PACKAGES="$(TEST_PACKAGES)"
	$(SWIFT) test --no-parallel

## The answer scanner fuzzed against Foundation's JSONSerialization for FUZZ_SECONDS (default 300), from FUZZ_SEED or
## a random seed (printed, with cases run and findings). A seeded loop in the debug test build: libFuzzer
## (`swift build --sanitize=fuzzer`) works with this toolchain but would need an executable target of its own.
FUZZ_SECONDS ?= 300
fuzz: deps
	PRESENCE_SYNC_FUZZ_SECONDS=$(FUZZ_SECONDS) $(if $(FUZZ_SEED),PRESENCE_SYNC_FUZZ_SEED=$(FUZZ_SEED)) \
		$(SWIFT) test --filter AnswerFuzzTests

## The benchmark (release build, simulator and daemon as separate processes).
bench: release
	.build/release/presence-sync benchmark

## The webhook delivery benchmark: single and batch throughput, a 1,000,000-event backlog drained after an outage.
bench-delivery: release
	.build/release/presence-sync benchmark-delivery

## The store's SQL alone, through SQLite's C API: the CPU floor of the schema (README, Performance).
storage-floor: deps
	mkdir -p .build && clang -O2 -Wall -o .build/storage-floor docs/storage-floor.c -lsqlite3
	.build/storage-floor

clean:
	rm -rf .build

## Installing as a systemd service (README, "Install as a service"). Build first (`make release`), then run
## `sudo make install` (no rebuild as root). DESTDIR stages the files elsewhere (packaging, CI).
PREFIX ?= /usr/local
DESTDIR ?=
BINARY ?= .build/release/presence-sync
BINDIR := $(PREFIX)/bin
UNITDIR := $(PREFIX)/lib/systemd/system
SYSUSERSDIR := $(PREFIX)/lib/sysusers.d
DOCDIR := $(PREFIX)/share/doc/presence-sync
CONFDIR := /etc/presence-sync

## The two units: presence-sync.service (one tenant) and the template presence-sync@.service (one instance per
## tenant, docs/many-tenants.md). Both are installed; either, or both, may be enabled.
UNITS := presence-sync.service presence-sync@.service
DOCS := README.md config.example.json docs/many-tenants.md

## Puts the binary, the units, the sysusers entry, the docs and (if none exists) a config in place.
install:
	@[ -x "$(BINARY)" ] || { echo "$(BINARY) is missing: run 'make release' first (as yourself, not root)"; exit 1; }
	install -D -m 0755 "$(BINARY)" "$(DESTDIR)$(BINDIR)/presence-sync"
	install -d -m 0755 "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(SYSUSERSDIR)" "$(DESTDIR)$(DOCDIR)"
	for unit in $(UNITS); do \
		sed -e 's#/usr/local/bin/presence-sync#$(BINDIR)/presence-sync#' \
			-e 's#/usr/local/share/doc/presence-sync#$(DOCDIR)#' "systemd/$$unit" > "$(DESTDIR)$(UNITDIR)/$$unit" && \
		chmod 0644 "$(DESTDIR)$(UNITDIR)/$$unit" || exit 1; \
	done
	install -m 0644 systemd/presence-sync.sysusers "$(DESTDIR)$(SYSUSERSDIR)/presence-sync.conf"
	install -m 0644 $(DOCS) "$(DESTDIR)$(DOCDIR)/"
	install -d -m 0750 "$(DESTDIR)$(CONFDIR)"
	@if [ -e "$(DESTDIR)$(CONFDIR)/config.json" ]; then echo "keeping the existing $(CONFDIR)/config.json"; \
	else install -m 0640 config.example.json "$(DESTDIR)$(CONFDIR)/config.json"; fi
	@if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
		systemd-sysusers "$(SYSUSERSDIR)/presence-sync.conf" && \
		chgrp presence-sync "$(CONFDIR)" "$(CONFDIR)/config.json"; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
	fi
	@echo "installed; next: edit $(CONFDIR)/config.json, then see README.md, 'Install as a service'"

## Removes what `install` put in place; the configs, credentials, databases and the user are left alone. On a live
## system (no DESTDIR) it first stops and disables the single unit and every instance of the template that systemd
## knows (loaded, or enabled through a link in /etc/systemd/system), best effort.
uninstall:
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		systemctl disable --now presence-sync.service 2>/dev/null || true; \
		instances=$$( { systemctl list-units --all --plain --no-legend 'presence-sync@*.service' \
			| awk '{ print $$1 }'; find /etc/systemd/system -name 'presence-sync@?*.service' -printf '%f\n'; \
			} 2>/dev/null | sort -u); \
		for unit in $$instances; do systemctl disable --now "$$unit" 2>/dev/null || true; done; \
	fi
	rm -f "$(DESTDIR)$(BINDIR)/presence-sync" $(foreach unit,$(UNITS),"$(DESTDIR)$(UNITDIR)/$(unit)") \
		"$(DESTDIR)$(SYSUSERSDIR)/presence-sync.conf" $(foreach doc,$(DOCS),"$(DESTDIR)$(DOCDIR)/$(notdir $(doc))")
	-rmdir "$(DESTDIR)$(DOCDIR)" 2>/dev/null
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "uninstalled; kept $(CONFDIR), /var/lib/presence-sync and the presence-sync user"

## Both unit files checked by systemd-analyze: `verify` passes and the security exposure is at most 1.5. The
## template is checked as an instance (presence-sync@contoso.service, loaded from presence-sync@.service next to
## it), so %i is expanded as it will be on a host. Skipped, with the reason, where systemd-analyze is not
## installed. The threshold is in tenths (15 = 1.5).
EXPOSURE_THRESHOLD ?= 15
unit-check:
	@if ! command -v systemd-analyze >/dev/null; then echo "unit-check skipped: systemd-analyze is not installed"; exit 0; fi; \
	version=$$(systemd-analyze --version | awk 'NR == 1 { print $$2 }'); \
	if [ "$${version:-0}" -lt 250 ] 2>/dev/null; then \
		echo "unit-check skipped: systemd $$version is too old for 'security --offline' (needs 250)"; exit 0; fi; \
	dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	printf '#!/bin/sh\n' > "$$dir/presence-sync"; chmod 0755 "$$dir/presence-sync"; \
	for unit in $(UNITS); do \
		sed "s#/usr/local/bin/presence-sync#$$dir/presence-sync#" "systemd/$$unit" > "$$dir/$$unit" || exit 1; \
		checked=$$(echo "$$unit" | sed 's/@\./@contoso./'); \
		systemd-analyze verify "$$dir/$$checked" || { echo "unit-check failed: verify $$checked"; exit 1; }; \
		systemd-analyze security --offline=yes --threshold=$(EXPOSURE_THRESHOLD) "$$dir/$$checked" \
			> "$$dir/security.txt"; status=$$?; tail -1 "$$dir/security.txt"; \
		if [ $$status != 0 ]; then grep '✗' "$$dir/security.txt"; \
			echo "unit-check failed: exposure of $$checked above 1.5"; exit 1; fi; \
	done; \
	echo "unit-check passed: verify clean, exposure within 1.5 ($(UNITS))"
