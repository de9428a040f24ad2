# tests/bundlers/bundlers.mk — the package as web developers consume it: `npm pack`ed, built by
# Vite and webpack (pinned dev dependencies, no network) and served as is or from another origin,
# each run in Debian's Chromium (playwright-core). Included by the Makefile; a few minutes on 2 cores.
.PHONY: test-bundlers

test-bundlers: deps wasm
	node --test --test-concurrency=1 tests/bundlers/
