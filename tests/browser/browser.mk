# tests/browser/browser.mk — the Chromium end-to-end tests of the JS API (worker, IndexedDB cache,
# resumable downloads, main-thread responsiveness). Included by the Makefile. They drive Debian's
# /usr/bin/chromium (an APT_PKGS entry) through the npm dev dependency playwright-core, which never
# downloads a browser of its own; the page and the models come from tests/browser/server.js on
# 127.0.0.1.

.PHONY: test-browser

test-browser: deps wasm
	node --test --test-concurrency=1 tests/browser/
