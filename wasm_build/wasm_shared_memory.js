// wasm_shared_memory.js — a wasm module's memory import made shared. The SIMD builds embed the
// relaxed-SIMD module once, linked for a plain memory; the threads build derives its copy at run
// time with this (the limits wasm-ld writes for --shared-memory --max-memory; relaxed_embed.js
// checks at build time that the two agree byte for byte). wasm.mk pastes this function's source
// into the emcc library (relaxed_library.js), so it uses nothing from outside itself.

/**
 * @param {Uint8Array} bytes a module whose first memory import is not shared
 * @param {number} maxPages the shared memory's maximum, in 64 KiB pages
 * @returns {Uint8Array} the same module with that import shared, of `maxPages` at most
 */
export function sharedMemoryImport(bytes, maxPages) {
  var pos = 8; // past the magic and version
  var leb = function () {
    var v = 0, s = 0, b;
    do { b = bytes[pos++]; v += (b & 127) * Math.pow(2, s); s += 7; } while (b & 128);
    return v;
  };
  var enc = function (v) {
    var out = [];
    do { var b = v % 128; v = Math.floor(v / 128); out.push(v ? b | 128 : b); } while (v);
    return out;
  };
  while (pos < bytes.length) {
    var sectionAt = pos, id = bytes[pos++], size = leb(), start = pos, end = pos + size;
    if (id !== 2) { pos = end; continue; } // the import section
    for (var n = leb(), i = 0; i < n; i++) {
      var len = leb(); // module name
      pos += len;
      len = leb(); // field name
      pos += len;
      var kind = bytes[pos++];
      if (kind === 0) leb(); // function: type index
      else if (kind === 3) pos += 2; // global: value type, mutability
      else {
        if (kind === 1) pos++; // table: element type, then limits as a memory's
        var limitsAt = pos, flags = bytes[pos++], min = leb();
        if (flags & 1) leb();
        if (kind !== 2) continue;
        if (flags & 2) throw new Error('the memory import is shared already');
        var body = [].concat(Array.from(bytes.subarray(start, limitsAt)), [3], enc(min), enc(maxPages),
          Array.from(bytes.subarray(pos, end)));
        var out = new Uint8Array(sectionAt + 1 + enc(body.length).length + body.length + bytes.length - end);
        out.set(bytes.subarray(0, sectionAt));
        out.set([2].concat(enc(body.length), body), sectionAt);
        out.set(bytes.subarray(end), out.length - (bytes.length - end));
        return out;
      }
    }
    break;
  }
  throw new Error('the module imports no memory');
}
