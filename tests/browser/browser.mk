# tests/browser/browser.mk — the end-to-end tests of the JS API (worker, IndexedDB cache, resumable
# downloads, quota, memory limit, threads, main-thread responsiveness) in three browser engines:
# Debian's chromium (playwright-core), firefox-esr (puppeteer-core over WebDriver BiDi) and
# WebKitGTK's MiniBrowser (WebKitWebDriver, under xvfb-run), all APT_TEST entries, driven through
# tests/browser/driver.js; no tool downloads a browser of its own. The page and the models come
# from tests/browser/server.js on 127.0.0.1. MLLM_ENGINES=chromium,firefox narrows the engines.

.PHONY: test-browser

test-browser: deps wasm
	node --test --test-concurrency=1 tests/browser/
