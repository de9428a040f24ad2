# mobilellm-wasm — `make` builds the wasm engine, `make demo` generates text with the bundled
# model, `make test` runs every test, `make bench` writes BENCHMARKS.md. Each target first
# installs what it needs (Debian packages, npm dev dependencies) when it is missing.

SHELL := /bin/bash
PY := /usr/bin/python3
CC ?= cc
EMCC ?= emcc
export NODE_PATH := /usr/share/nodejs
export NODE_LLAMA_CPP_SKIP_DOWNLOAD := true

SRC := $(sort $(wildcard src/*.c))
HDR := $(wildcard src/*.h)
CTESTS := $(patsubst tests/c/%.c,%,$(sort $(wildcard tests/c/test_*.c)))

CFLAGS_COMMON := -std=c99 -Wall -Wextra -Wno-unused-parameter -Isrc
CFLAGS_NATIVE := $(CFLAGS_COMMON) -O2 -g
CFLAGS_SAN := $(CFLAGS_COMMON) -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# Debian packages: what building and `make demo` need, and what only the tests need (the
# PyTorch reference, Chromium for the browser tests, clang's libFuzzer runtime for the fuzz
# targets, jinja2 for the chat templates' reference renderings). node/npm come with them if absent.
APT_BUILD := gcc make emscripten clang-19 lld-19
APT_TEST := python3-torch python3-numpy python3-sentencepiece chromium libclang-rt-19-dev firefox-esr webkit2gtk-driver xvfb xauth python3-jinja2
DEFAULT_MODEL := models/default.gguf

.PHONY: all deps native wasm test test-c test-san test-node test-py demo bench clean model fuzz-js

all: wasm

# ---------------------------------------------------------------- setup
# $(call apt_install,PACKAGES): install whichever of PACKAGES are missing, then touch the stamp.
define apt_install
	@mkdir -p $(dir $@)
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done; \
	  command -v node >/dev/null || echo nodejs; command -v npm >/dev/null || echo npm); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi
	@touch $@
endef

# (again when the Makefile changes: the package lists may have grown)
build/.apt-stamp: Makefile
	$(call apt_install,$(APT_BUILD))

build/.apt-test-stamp: Makefile
	$(call apt_install,$(APT_TEST))

node_modules/.npm-stamp: package.json package-lock.json
	npm ci --omit=optional --no-audit --no-fund
	@touch $@

# A current Node LTS, from the npm registry's node-linux-<arch> package (the official
# binary): the engine's relaxed-SIMD kernels run in Node 24+ (its V8 lowers their dot to
# vpdpbusd on AVX-VNNI x86), not in the system Node 20 (nor 22). The tests check them under
# it and make bench reports both. Not part of the package or of `make demo`.
NODE_LTS_VERSION := 24.21.0
NODE_LTS := build/node-$(NODE_LTS_VERSION)/bin/node
NODE_ARCH := $(patsubst x86_64,x64,$(patsubst aarch64,arm64,$(shell uname -m)))
$(NODE_LTS):
	@rm -rf build/node-$(NODE_LTS_VERSION) build/node-lts.pack && mkdir -p build/node-$(NODE_LTS_VERSION) build/node-lts.pack
	cd build/node-lts.pack && npm pack --silent node-linux-$(NODE_ARCH)@$(NODE_LTS_VERSION) >/dev/null
	tar -xzf build/node-lts.pack/node-linux-$(NODE_ARCH)-$(NODE_LTS_VERSION).tgz -C build/node-$(NODE_LTS_VERSION) --strip-components=1
	@rm -rf build/node-lts.pack
	@$@ --version | grep -qx v$(NODE_LTS_VERSION)
	@touch $@
export MLLM_NODE_LTS := $(CURDIR)/$(NODE_LTS)

deps: build/.apt-stamp build/.apt-test-stamp node_modules/.npm-stamp $(NODE_LTS)

# ---------------------------------------------------------------- native (developer tool, sanitizers)
build/native/%.o: src/%.c $(HDR) | build/.apt-stamp
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_NATIVE) -c $< -o $@

build/san/%.o: src/%.c $(HDR) | build/.apt-stamp
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_SAN) -c $< -o $@

NATIVE_OBJ := $(patsubst src/%.c,build/native/%.o,$(SRC))
SAN_OBJ := $(patsubst src/%.c,build/san/%.o,$(SRC))

build/native/libmllm.a: $(NATIVE_OBJ)
	rm -f $@ && ar rcs $@ $^

build/san/libmllm.a: $(SAN_OBJ)
	rm -f $@ && ar rcs $@ $^

build/native/test_%: tests/c/test_%.c tests/c/*.h build/native/libmllm.a
	$(CC) $(CFLAGS_NATIVE) -Itests/c $< build/native/libmllm.a -lm -o $@

build/san/test_%: tests/c/test_%.c tests/c/*.h build/san/libmllm.a
	$(CC) $(CFLAGS_SAN) -Itests/c $< build/san/libmllm.a -lm -o $@

# The pool's own test needs the threaded pool (the library is built without threads); it
# also runs under ThreadSanitizer in test-san.
THREADS_TEST_DEPS := tests/c/test_threads.c tests/c/check.h src/threads.c src/error.c $(HDR) | build/.apt-stamp
THREADS_TEST_SRC := tests/c/test_threads.c src/threads.c src/error.c
build/native/test_threads: $(THREADS_TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_NATIVE) -DMLLM_THREADS -pthread -Itests/c $(THREADS_TEST_SRC) -o $@

build/san/test_threads: $(THREADS_TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_SAN) -DMLLM_THREADS -pthread -Itests/c $(THREADS_TEST_SRC) -o $@

build/tsan/test_threads: $(THREADS_TEST_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 -g -fsanitize=thread -DMLLM_THREADS -pthread -Itests/c $(THREADS_TEST_SRC) -o $@

# The pool alone on decode-shaped jobs (tools/bench_pool.c): natively and in Node's wasm threads.
build/native/bench_pool: tools/bench_pool.c src/threads.c src/error.c $(HDR) | build/.apt-stamp
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_NATIVE) -DMLLM_THREADS -pthread tools/bench_pool.c src/threads.c src/error.c -o $@

build/bench_pool/bench_pool.js: tools/bench_pool.c src/threads.c src/error.c $(HDR) | build/.apt-stamp
	@mkdir -p $(dir $@)
	$(EMCC) -std=gnu99 -O3 -Isrc -pthread -s PTHREAD_POOL_SIZE=16 -s ENVIRONMENT=node -s EXIT_RUNTIME=1 \
	  -s INITIAL_MEMORY=64MB -s SINGLE_FILE=1 tools/bench_pool.c src/threads.c src/error.c -o $@
	echo '{"type": "commonjs"}' > $(dir $@)package.json # (emcc's Node glue is CommonJS)

build/native/mllm: tools/mllm_native.c build/native/libmllm.a
	$(CC) $(CFLAGS_NATIVE) $< build/native/libmllm.a -lm -o $@

native: build/native/libmllm.a build/native/mllm

# ---------------------------------------------------------------- wasm
include wasm_build/wasm.mk
include tests/browser/browser.mk
include tests/web/web.mk
include tests/bundlers/bundlers.mk
include tests/fuzz/fuzz.mk

# ---------------------------------------------------------------- the bundled model (make model)
include models/model.mk

wasm: dist/mobilellm.js

# ---------------------------------------------------------------- tests
test-c: $(addprefix build/native/,$(CTESTS))
	@set -e; for t in $(CTESTS); do build/native/$$t; done

test-san: $(addprefix build/san/,$(CTESTS)) build/tsan/test_threads
	@set -e; for t in $(CTESTS); do ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build/san/$$t; done
	TSAN_OPTIONS=halt_on_error=1 build/tsan/test_threads

test-node: deps wasm
	node --test --test-concurrency=1 tests/node/

# The training side's export formats against the converter and the PyTorch reference (seconds).
test-py: build/.apt-test-stamp
	$(PY) models/train/test_export.py

test: deps test-c test-san test-fuzz test-node test-py test-browser test-web test-bundlers

# JS fuzz harnesses for the converter's readers and the GGUF loader (tests/fuzz/run.js): each
# target runs FUZZ_JS_CASES seeded mutations; unclean failures are saved under build/fuzz-js/.
# `make test` runs a short pass and the saved regressions (tests/node/fuzz_js.test.js).
FUZZ_JS_CASES ?= 100000
FUZZ_JS_SEED ?= 1
fuzz-js: deps wasm
	node tests/fuzz/run.js --cases $(FUZZ_JS_CASES) --seed $(FUZZ_JS_SEED)

# ---------------------------------------------------------------- main job
$(DEFAULT_MODEL):
	@test -f $@ || { echo "missing $@: run 'make model'"; exit 1; }

# The main job needs only the compiler toolchain (the one runtime dependency, @huggingface/jinja, is for chat).
demo: build/.apt-stamp wasm $(DEFAULT_MODEL)
	node bin/mobilellm.js generate -n 64 "In the beginning"

bench: deps wasm native
	node tools/bench_report.js

clean:
	rm -rf build dist
