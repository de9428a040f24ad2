# tests/web/web.mk — the demo page's browser tests (web/ on the real API): demo.test.js in
# Debian's Chromium via playwright-core, engines.test.js in Chromium, Firefox and WebKit through
# tests/browser/driver.js. Included by the Makefile; `make test-web` runs them. They need the
# wasm build and the npm dev dependencies; they write fixtures to build/fixtures/web/ and
# screenshots to test-output/web/.
.PHONY: test-web serve

test-web: deps wasm
	node --test --test-concurrency=1 tests/web/

# The demo page on http://127.0.0.1:8080/web/ (cross-origin isolated; `node tools/serve.js --plain` for plain).
serve: deps wasm
	node tools/serve.js
