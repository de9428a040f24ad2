# Emscripten build of src/ into dist/: a modular ES module for Web Workers and Node. It is built
# for the web/worker environments only: emcc 3.1.6's Node glue uses require/__dirname, which ES
# modules lack, so under Node wasm_build/engine.js hands the module its wasm bytes instead.
EMFLAGS := -std=c99 -O3 -Isrc -s MODULARIZE=1 -s EXPORT_ES6=1 -s EXPORT_NAME=createMobileLLM \
  -s ENVIRONMENT=web,worker -s ALLOW_MEMORY_GROWTH=1 -s MAXIMUM_MEMORY=4GB \
  -s INITIAL_MEMORY=32MB -s TOTAL_STACK=1MB -s FILESYSTEM=0 \
  -s EXPORTED_RUNTIME_METHODS=[] \
  -s EXPORTED_FUNCTIONS=[$(shell sed -e 's/\#.*//' wasm_build/exports.txt | grep -v '^\s*$$' | sed -e "s/.*/'_&'/" | paste -sd,)]

dist/mobilellm.js: $(SRC) $(HDR) wasm_build/exports.txt wasm_build/wasm.mk | build/.apt-stamp
	@mkdir -p dist
	$(EMCC) $(EMFLAGS) $(SRC) -o $@
