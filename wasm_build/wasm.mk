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
#    "type": "module", and the worker script is CommonJS).
EMFLAGS := -std=c99 -O3 -Isrc -s MODULARIZE=1 -s EXPORT_ES6=1 -s EXPORT_NAME=createMobileLLM \
  -s ENVIRONMENT=web,worker -s ALLOW_MEMORY_GROWTH=1 -s MAXIMUM_MEMORY=4GB \
  -s INITIAL_MEMORY=32MB -s MEMORY_GROWTH_GEOMETRIC_CAP=8MB -s TOTAL_STACK=1MB -s FILESYSTEM=0 \
  -s EXPORTED_RUNTIME_METHODS=[] \
  -s EXPORTED_FUNCTIONS=[$(shell sed -e 's/\#.*//' wasm_build/exports.txt | grep -v '^\s*$$' | sed -e "s/.*/'_&'/" | paste -sd,)]

, := ,
WASM_DEPS := $(SRC) $(HDR) wasm_build/exports.txt wasm_build/wasm.mk

dist/mobilellm.js: $(WASM_DEPS) | build/.apt-stamp
	@mkdir -p dist
	$(EMCC) $(EMFLAGS) -msimd128 $(SRC) -o $@

dist/mobilellm-nosimd.js: $(WASM_DEPS) | build/.apt-stamp
	@mkdir -p dist
	$(EMCC) $(EMFLAGS) $(SRC) -o $@

EMFLAGS_THREADS := $(subst ENVIRONMENT=web$(,)worker,ENVIRONMENT=web$(,)worker$(,)node,$(EMFLAGS)) -pthread \
  -s USE_PTHREADS=1 -s "PTHREAD_POOL_SIZE=(Module['mllmPoolSize']||1)" -s PTHREAD_POOL_SIZE_STRICT=2

dist/mobilellm-threads.js: $(WASM_DEPS) | build/.apt-stamp
	@mkdir -p dist
	$(EMCC) $(EMFLAGS_THREADS) -msimd128 $(SRC) -o $@
	mv dist/mobilellm-threads.worker.js dist/mobilellm-threads.worker.cjs
	sed -i 's/mobilellm-threads\.worker\.js/mobilellm-threads.worker.cjs/g' $@

# `make wasm` builds every variant (the Makefile's own rule names dist/mobilellm.js).
wasm: dist/mobilellm-nosimd.js dist/mobilellm-threads.js
