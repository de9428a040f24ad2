// abi.js — the C structs of src/mobilellm.h as this wasm module lays them out. The module's
// mllm_abi_layout() lists every field (struct, name, offset, size, kind); StructAbi reads and
// writes fields by name at those offsets, so no struct layout is copied into JS.

/** The table's own row layout on wasm32 (pointers are 4 bytes), checked against the row the
 * table holds for mllm_abi_field itself before anything else is read. */
const ROW = { strct: 0, name: 4, offset: 8, size: 12, kind: 16, bytes: 20 };

/**
 * @typedef {{offset: number, size: number, kind: string}} AbiField
 * @typedef {{size: number, fields: Record<string, AbiField>}} AbiStruct
 */

/**
 * Read the module's layout table.
 * @param {any} mod an instantiated module exporting _mllm_abi_layout
 * @returns {Record<string, AbiStruct>}
 */
export function readLayout(mod) {
  const countPtr = mod._malloc(4);
  let table, count;
  try {
    table = mod._mllm_abi_layout(countPtr);
    count = mod.HEAP32[countPtr >> 2];
  } finally {
    mod._free(countPtr);
  }
  const u8 = mod.HEAPU8, dv = new DataView(u8.buffer);
  const str = (p) => { let e = p; while (u8[e]) e++; return new TextDecoder().decode(u8.slice(p, e)); };
  /** @type {Record<string, AbiStruct>} */
  const layout = {};
  for (let i = 0; i < count; i++) {
    const r = table + i * ROW.bytes;
    const s = str(dv.getUint32(r + ROW.strct, true)), name = str(dv.getUint32(r + ROW.name, true));
    const f = { offset: dv.getInt32(r + ROW.offset, true), size: dv.getInt32(r + ROW.size, true),
      kind: str(dv.getUint32(r + ROW.kind, true)) };
    layout[s] ??= { size: 0, fields: {} };
    if (name === '') layout[s].size = f.size;
    else layout[s].fields[name] = f;
  }
  const self = layout.mllm_abi_field;
  const ok = self?.size === ROW.bytes && Object.entries(ROW).every(([k, off]) => k === 'bytes' || self.fields[k]?.offset === off);
  if (!ok) throw new Error('wasm ABI mismatch: the module\'s mllm_abi_field rows are not laid out as abi.js reads them');
  return layout;
}

/** Reads and writes the public structs in a module's heap, by struct and field name. */
export class StructAbi {
  /** @param {any} mod @param {Record<string, AbiStruct>} [layout] */
  constructor(mod, layout = readLayout(mod)) {
    this.mod = mod;
    this.layout = layout;
  }

  /** @param {string} strct @returns {number} sizeof */
  size(strct) { return this.#struct(strct).size; }

  /** @param {string} strct @param {string} field @returns {AbiField} */
  field(strct, field) {
    const f = this.#struct(strct).fields[field];
    if (!f) throw new Error(`wasm ABI mismatch: ${strct} has no field ${field}`);
    return f;
  }

  /** Field `field` of the struct at `ptr` (element `i` of an array field). */
  get(ptr, strct, field, i = 0) {
    const f = this.field(strct, field), dv = new DataView(this.mod.HEAPU8.buffer), at = ptr + f.offset;
    switch (f.kind) {
      case 'i32': return dv.getInt32(at + 4 * i, true);
      case 'u32': case 'ptr': return dv.getUint32(at + 4 * i, true);
      case 'f32': return dv.getFloat32(at + 4 * i, true);
      case 'i64': return Number(dv.getBigInt64(at + 8 * i, true));
      default: throw new Error(`wasm ABI: ${strct}.${field} is ${f.kind}, not a number`);
    }
  }

  /** Set field `field` of the struct at `ptr` (element `i` of an array field). */
  set(ptr, strct, field, value, i = 0) {
    const f = this.field(strct, field), dv = new DataView(this.mod.HEAPU8.buffer), at = ptr + f.offset;
    switch (f.kind) {
      case 'i32': dv.setInt32(at + 4 * i, value, true); break;
      case 'u32': case 'ptr': dv.setUint32(at + 4 * i, value >>> 0, true); break;
      case 'f32': dv.setFloat32(at + 4 * i, value, true); break;
      case 'i64': dv.setBigInt64(at + 8 * i, BigInt(value), true); break;
      default: throw new Error(`wasm ABI: ${strct}.${field} is ${f.kind}, not a number`);
    }
  }

  /** Every numeric field of the struct at `ptr`, by C name (arrays: their first element). */
  read(ptr, strct) {
    /** @type {Record<string, number>} */
    const out = {};
    for (const [name, f] of Object.entries(this.#struct(strct).fields))
      if (f.kind !== 'bytes') out[name] = this.get(ptr, strct, name);
    return out;
  }

  #struct(strct) {
    const s = this.layout[strct];
    if (!s) throw new Error(`wasm ABI mismatch: the module has no struct ${strct}`);
    return s;
  }
}
