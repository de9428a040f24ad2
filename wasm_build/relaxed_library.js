// relaxed_library.js — emcc JS library for the SIMD builds: supplies the engine's import
// mllm_relaxed_q8_0 (src/kernels_simd128.c), mllm_relaxed_quant and mllm_relaxed_x4quant
// (src/kernels_quant.c) from the small module src/kernels_relaxed.c, src/kernels_relaxed_quant.c
// and src/kernels_relaxed_x4quant.c are built into.
// relaxed_embed.js writes the module in below once, as base64, linked for a plain memory; the
// threads build's shared memory takes a copy whose import is made shared (wasm_shared_memory.js).
//
// Each thread instantiates the module on its first call, over the engine's own memory, if it
// compiles (the engine has relaxed SIMD). The Q8_0 kernel (mllm_relaxed_q8_0) feeds the dot
// operands above 127, so it runs only where mllm_relaxed_probe says the engine's dot is exact
// for them (x86 with AVX-VNNI; not pmaddubsw or signed lowerings); the 2..6-bit types'
// kernels (mllm_relaxed_quant, mllm_relaxed_x4quant) keep their operands in 0..127, defined alike everywhere, so it
// runs wherever the module compiles. Otherwise a call returns 0 and the SIMD128 kernel does
// the work. A call costs one JS hop, against a whole matrix of work.

mergeInto(LibraryManager.library, {
  $mllmRelaxedKernel__postset:
    'var mllmRelaxedFn, mllmRelaxedQuantFn, mllmRelaxedX4QuantFn;\n' + // undefined until this thread tries; then the kernel or null
    // For engine.js: whether Q8_0 matmuls run on the relaxed kernels in this (the calling) thread.
    'Module["mllmRelaxedActive"] = function() { return mllmRelaxedKernel() !== null; };\n' +
    // For tests: whether the 2..6-bit types' matmuls run on the relaxed kernels in this thread.
    'Module["mllmRelaxedQuantActive"] = function() { mllmRelaxedKernel(); return mllmRelaxedQuantFn !== null; };',
  $mllmRelaxedKernel: function() {
    if (mllmRelaxedFn === undefined) {
      mllmRelaxedFn = mllmRelaxedQuantFn = mllmRelaxedX4QuantFn = null;
      try {
        var shared = typeof SharedArrayBuffer === 'function' && wasmMemory.buffer instanceof SharedArrayBuffer;
        var bin = atob('@RELAXED_WASM@'), bytes = new Uint8Array(bin.length);
        for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        if (shared) bytes = (@SHARED_MEMORY_IMPORT@)(bytes, @MAX_PAGES@);
        var inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: wasmMemory } });
        mllmRelaxedQuantFn = inst.exports.mllm_relaxed_quant;
        mllmRelaxedX4QuantFn = inst.exports.mllm_relaxed_x4quant;
        if (inst.exports.mllm_relaxed_probe(-128, 127, 255)) mllmRelaxedFn = inst.exports.mllm_relaxed_q8_0;
      } catch (e) {
        // no relaxed SIMD here (CompileError), or a compile the page forbids: SIMD128 only
      }
    }
    return mllmRelaxedFn;
  },
  mllm_relaxed_q8_0__deps: ['$mllmRelaxedKernel'],
  mllm_relaxed_q8_0: function(out, ldo, w, nIn, nRows, xq, nTok, xbuf, xbytes, wbuf, wbytes, flags) {
    var fn = mllmRelaxedKernel();
    return fn ? fn(out, ldo, w, nIn, nRows, xq, nTok, xbuf, xbytes, wbuf, wbytes, flags) : 0;
  },
  mllm_relaxed_quant__deps: ['$mllmRelaxedKernel'],
  mllm_relaxed_quant: function(type, out, ldo, w, nIn, nRows, xq, nTok, xbuf, xbytes) {
    mllmRelaxedKernel();
    return mllmRelaxedQuantFn ? mllmRelaxedQuantFn(type, out, ldo, w, nIn, nRows, xq, nTok, xbuf, xbytes) : 0;
  },
  mllm_relaxed_x4quant__deps: ['$mllmRelaxedKernel'],
  mllm_relaxed_x4quant: function(type, out, ldo, w, nIn, nRows, xq, nTok, xbuf, xbytes, flags) {
    mllmRelaxedKernel();
    return mllmRelaxedX4QuantFn ? mllmRelaxedX4QuantFn(type, out, ldo, w, nIn, nRows, xq, nTok, xbuf, xbytes, flags) : 0;
  },
});
