# Emscripten builds of src/ into dist/: modular ES modules for Web Workers and Node. They are
# built for the web/worker environments only: emcc 3.1.6's Node glue uses require/__dirname,
# which ES modules lack, so under Node wasm_build/engine.js hands the module its wasm bytes.
#
# Three builds of the same sources, chosen at run time by wasm_build/engine.js:
#  - dist/mobilellm.js: -msimd128 (src/kernels_simd128.c replaces the hot scalar kernels; the
#    results are bit-identical), the default wherever a tiny SIMD module validates;
#  - dist/mobilellm-nosimd.js: for engines without SIMD128;
#  - dist/mobilellm-threads.js: SIMD128 + pthreads (a pool of Workers sharing the memory,
#    src/threads.c splits matmul rows and attention groups), used when Engine.create is asked
#    for threads and SharedArrayBuffer exists (Node; cross-origin-isolated pages). The pool
#    size is Module.mllmPoolSize, set by engine.js. This build also targets Node: emcc 3.1.6
#    spawns pthreads there with require('worker_threads'), so engine.js provides require and
#    __dirname to the ES module, and the worker script is renamed .cjs (this package is
#    "type": "module", and the worker script is CommonJS). Module.mllmNewWorker, when set,
#    makes the pool's workers instead of `new Worker` (browsers: the page starts them, since
#    Firefox can block a worker's own `new Worker` for good; worker/thread_pool.js).
# The two SIMD builds also carry the relaxed-SIMD kernels (src/kernels_relaxed.c, below),
# which run only where the engine computes their int8 dot exactly.
# Memory grows to each request plus at most 1 MB (MEMORY_GROWTH_GEOMETRIC_CAP): the model and the
# KV cache are single large requests, so a larger step only adds memory that is never handed out.
EMFLAGS := -std=c99 -O3 -Isrc -s MODULARIZE=1 -s EXPORT_ES6=1 -s EXPORT_NAME=createMobileLLM \
  -s ENVIRONMENT=web,worker -s ALLOW_MEMORY_GROWTH=1 -s MAXIMUM_MEMORY=4GB \
  -s INITIAL_MEMORY=32MB -s MEMORY_GROWTH_GEOMETRIC_CAP=1MB -s TOTAL_STACK=1MB -s FILESYSTEM=0 \
  -s EXPORTED_RUNTIME_METHODS=[] \
  -s EXPORTED_FUNCTIONS=[$(shell sed -e 's/\#.*//' wasm_build/exports.txt | grep -v '^\s*$$' | sed -e "s/.*/'_&'/" | paste -sd,)]

, := ,
WASM_DEPS := $(SRC) $(HDR) wasm_build/exports.txt wasm_build/wasm.mk

# The relaxed-SIMD kernels (src/kernels_relaxed.c): emcc 3.1.6's clang 14 cannot emit
# relaxed SIMD, and its wasm-opt (binaryen 108) misreads the final opcodes, so clang 19 and
# wasm-ld 19 build it alone into a module that imports the engine's memory.
# build/relaxed/library.js carries it (base64, once: the threads build makes its shared-memory
# copy at run time) into the SIMD builds, which call it through an import (MLLM_RELAXED_IMPORT).
CLANG_RELAXED ?= clang-19
WASM_LD_RELAXED ?= wasm-ld-19
# (-disable-lsr, as emcc passes its clang: loop strength reduction turns the kernels'
# struct field offsets into i32.adds that V8 then executes as leas; without it they fold
# into the loads' offset immediates)
RELAXED_CFLAGS := --target=wasm32 -std=c99 -O3 -ffreestanding -nostdlib -msimd128 -mrelaxed-simd -mllvm -disable-lsr \
  -ffp-contract=off -Wall -Wextra -Isrc
RELAXED_LDFLAGS := --no-entry --import-memory --strip-all --export=mllm_relaxed_q8_0 --export=mllm_relaxed_probe \
  --export=mllm_relaxed_quant --export=mllm_relaxed_x4quant --export=mllm_relaxed_iq4_xs
# `make wasm PROFILE=1` (after `rm -rf dist build/relaxed`) keeps function names (emcc
# --profiling-funcs; the relaxed module unstripped) so `node --cpu-prof` names them; shipped
# builds leave it unset. The names differ between wasm-ld's two links, so there the shared copy
# is derived from the plain one, as the threads build does at run time.
ifeq ($(PROFILE),1)
EMFLAGS += --profiling-funcs
RELAXED_LDFLAGS := $(filter-out --strip-all,$(RELAXED_LDFLAGS))
endif
# the threads build's memory maximum (MAXIMUM_MEMORY=4GB), in 64 KiB pages
RELAXED_MAX_PAGES := 65536
# the module's sources: the Q8_0 kernels, the 4/5/6-bit types' (src/kernels_relaxed_quant.c) and Q4_0/Q5_0 on
# their x4 layouts (src/kernels_relaxed_x4quant.c), IQ4_XS (src/kernels_relaxed_iq4.c)
RELAXED_SRC := kernels_relaxed kernels_relaxed_quant kernels_relaxed_x4quant kernels_relaxed_iq4
RELAXED_HDR := src/codec.h src/kernels.h src/kernels_q8_simd.h src/dtype.h src/quant_blocks.h src/quant_k_simd.h wasm_build/wasm.mk

build/relaxed/%.o: src/%.c $(RELAXED_HDR) | build/.apt-stamp
	@mkdir -p $(dir $@)
	$(CLANG_RELAXED) $(RELAXED_CFLAGS) -c $< -o $@

build/relaxed/%-shared.o: src/%.c $(RELAXED_HDR) | build/.apt-stamp
	@mkdir -p $(dir $@)
	$(CLANG_RELAXED) $(RELAXED_CFLAGS) -matomics -mbulk-memory -c $< -o $@

build/relaxed/relaxed.wasm: $(RELAXED_SRC:%=build/relaxed/%.o)
	$(WASM_LD_RELAXED) $(RELAXED_LDFLAGS) $^ -o $@

ifeq ($(PROFILE),1)
build/relaxed/relaxed-shared.wasm: build/relaxed/relaxed.wasm wasm_build/wasm_shared_memory.js
	node --input-type=module -e "import { readFileSync, writeFileSync } from 'node:fs'; \
	  import { sharedMemoryImport } from './wasm_build/wasm_shared_memory.js'; \
	  writeFileSync('$@', sharedMemoryImport(new Uint8Array(readFileSync('$<')), $(RELAXED_MAX_PAGES)));"
else
build/relaxed/relaxed-shared.wasm: $(RELAXED_SRC:%=build/relaxed/%-shared.o)
	$(WASM_LD_RELAXED) $(RELAXED_LDFLAGS) --shared-memory --max-memory=$$(( $(RELAXED_MAX_PAGES) * 65536 )) $^ -o $@
endif

# The plain module is embedded once; the shared link only checks that the threads build's copy,
# derived from it at run time, is what wasm-ld makes (relaxed_embed.js).
build/relaxed/library.js: wasm_build/relaxed_library.js build/relaxed/relaxed.wasm build/relaxed/relaxed-shared.wasm \
    wasm_build/relaxed_embed.js wasm_build/wasm_shared_memory.js
	node wasm_build/relaxed_embed.js $< build/relaxed/relaxed.wasm build/relaxed/relaxed-shared.wasm $(RELAXED_MAX_PAGES) $@

RELAXED_LINK := -DMLLM_RELAXED_IMPORT --js-library build/relaxed/library.js

dist/mobilellm.js: $(WASM_DEPS) build/relaxed/library.js | build/.apt-stamp
	@mkdir -p dist
	$(EMCC) $(EMFLAGS) -msimd128 $(RELAXED_LINK) $(SRC) -o $@

dist/mobilellm-nosimd.js: $(WASM_DEPS) | build/.apt-stamp
	@mkdir -p dist
	$(EMCC) $(EMFLAGS) $(SRC) -o $@

EMFLAGS_THREADS := $(subst ENVIRONMENT=web$(,)worker,ENVIRONMENT=web$(,)worker$(,)node,$(EMFLAGS)) -pthread \
  -s USE_PTHREADS=1 -s "PTHREAD_POOL_SIZE=(Module['mllmPoolSize']||1)" -s PTHREAD_POOL_SIZE_STRICT=2

dist/mobilellm-threads.js: $(WASM_DEPS) build/relaxed/library.js | build/.apt-stamp
	@mkdir -p dist
	$(EMCC) $(EMFLAGS_THREADS) -msimd128 $(RELAXED_LINK) $(SRC) -o $@
	mv dist/mobilellm-threads.worker.js dist/mobilellm-threads.worker.cjs
	sed -i 's/mobilellm-threads\.worker\.js/mobilellm-threads.worker.cjs/g' $@
	sed -i 's/new Worker(pthreadMainJs)/(Module["mllmNewWorker"]||function(u){return new Worker(u)})(pthreadMainJs)/' $@
	grep -q 'Module\["mllmNewWorker"\]' $@

# `make wasm` builds every variant (the Makefile's own rule names dist/mobilellm.js).
wasm: dist/mobilellm-nosimd.js dist/mobilellm-threads.js
