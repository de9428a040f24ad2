// unpickle.js — a restricted Python unpickler for the data.pkl of torch.save checkpoints.
//
// A pickle is a small stack program. Python's own unpickler can import and call anything it
// names, which is why loading an untrusted pytorch_model.bin runs arbitrary code. This one
// builds plain data only: it runs the opcodes of protocols 0-5 that data structures use and
// resolves GLOBAL names through a caller-supplied whitelist of JS functions (for torch, the
// tensor rebuild helpers and storage types); any other global, and the opcodes that exist
// only to call arbitrary classes (INST, OBJ, EXT*), are refused. Python dicts become Map,
// lists Array, tuples frozen Arrays, bytes Uint8Array, ints number (BigInt beyond 2^53).
//
// Limits (LIMITS below) bound nesting, call arguments, integer sizes and the items a container
// takes, so a small hostile pickle cannot drive time, memory or the JS call stack up; values
// appear in messages only through describeValue (bounded), never String() / JSON.stringify.

import { ConvertError } from './errors.js';
import { describeValue } from './describe.js';

/** The unpickler's limits: far above what a state dict needs (depth ~6, 3-6 call arguments). */
export const LIMITS = Object.freeze({
  /** containers inside containers, and MARKs open at once */
  depth: 100,
  /** arguments of one call (REDUCE, NEWOBJ) */
  callArgs: 16,
  /** bytes of one integer (LONG1 / LONG4) and digits of a text integer */
  intBytes: 64,
  /** items on the stack or in one container */
  items: 1 << 24,
});

/**
 * @typedef {object} UnpickleOptions
 * @property {(module: string, name: string) => any} findClass  returns a whitelisted value or throws
 * @property {(pid: any) => any} [persistentLoad]                 BINPERSID / PERSID
 * @property {string} [label]                                     for messages
 */

/** A Python object built by REDUCE/NEWOBJ on a whitelisted class that we do not model. */
export class PyObject {
  /** @param {string} cls @param {any[]} args */
  constructor(cls, args) {
    this.cls = cls;
    this.args = args;
    this.state = undefined;
  }
}

const MARK = Symbol('mark');
const dec = new TextDecoder();
const latin1 = new TextDecoder('latin1');

/**
 * @param {Uint8Array} data
 * @param {UnpickleOptions} opts
 * @returns {any}
 */
export function unpickle(data, opts) {
  const label = opts.label ?? 'the pickle';
  const fail = (why, code = 'format') => new ConvertError(`${label} ${why}.`, code);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let p = 0;
  /** @type {any[]} */
  let stack = [];
  /** @type {any[][]} */
  const marks = [];
  /** @type {Map<number, any>} */
  const memo = new Map();
  /** nesting depth of each container built here (absent: a leaf) */
  const depthOf = new WeakMap();
  const depth = (v) => (v !== null && typeof v === 'object' ? depthOf.get(v) ?? 0 : 0);
  /** Record that `c` now holds `child`: refuse containers nested beyond LIMITS.depth. */
  const holds = (c, child) => {
    const d = Math.max(depthOf.get(c) ?? 1, depth(child) + 1);
    if (d > LIMITS.depth) throw fail(`nests containers more than ${LIMITS.depth} deep`);
    depthOf.set(c, d);
  };
  /** A new container of `items`. @template T @param {T} c @param {Iterable<any>} items @returns {T} */
  const made = (c, items) => {
    depthOf.set(/** @type {any} */ (c), 1);
    for (const x of items) holds(c, x);
    return c;
  };

  const need = (n) => { if (p + n > data.length) throw fail('ends in the middle of an instruction (truncated?)'); };
  const u8 = () => { need(1); return data[p++]; };
  const u16 = () => { need(2); const v = dv.getUint16(p, true); p += 2; return v; };
  const u32 = () => { need(4); const v = dv.getUint32(p, true); p += 4; return v; };
  const i32 = () => { need(4); const v = dv.getInt32(p, true); p += 4; return v; };
  const u64 = () => {
    need(8);
    const v = dv.getBigUint64(p, true);
    p += 8;
    if (v > BigInt(data.length)) throw fail('has a length field beyond its own size');
    return Number(v);
  };
  const bytes = (n) => { need(n); const b = data.subarray(p, p + n); p += n; return b; };
  const line = () => {
    const end = data.indexOf(10, p);
    if (end < 0) throw fail('has an unterminated text argument');
    const s = latin1.decode(data.subarray(p, end));
    p = end + 1;
    return s;
  };
  // reads `stack` after the argument (which may pop a MARK) ran
  const push = (v) => {
    if (stack.length >= LIMITS.items) throw fail(`holds more than ${LIMITS.items} values on its stack`);
    stack.push(v);
  };
  const pop = () => { if (!stack.length) throw fail('pops an empty stack'); return stack.pop(); };
  const top = () => { if (!stack.length) throw fail('reads an empty stack'); return stack[stack.length - 1]; };
  const popMark = () => {
    if (!marks.length) throw fail('closes a MARK that was never opened');
    const items = stack;
    stack = marks.pop();
    return items;
  };
  const tuple = (items) => Object.freeze(made(items, items));
  const intFromText = (s) => {
    if (s.length > LIMITS.intBytes) throw fail(`has a text integer of ${s.length} characters, beyond the ${LIMITS.intBytes} a weights file needs`);
    const t = s.replace(/L$/, '');
    if (t === '00') return false; // protocol 0 spells False / True as I00 / I01
    if (t === '01') return true;
    if (!/^[-+]?\d+$/.test(t)) throw fail(`has a malformed integer ${describeValue(s)}`);
    const b = BigInt(t);
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  };
  const longLE = (b) => {
    if (b.length > LIMITS.intBytes) throw fail(`has an integer of ${b.length} bytes, beyond the ${LIMITS.intBytes} a weights file needs`);
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItems = (d, items) => {
    if (items.length % 2) throw fail('sets dict items from an odd number of values');
    for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
  };
  const setItem = (d, k, v) => {
    let m;
    if (d instanceof Map) m = d;
    else if (d instanceof PyObject) m = d.items ??= made(new Map(), []);
    else throw fail('sets an item on something that is not a dict');
    if (m.size >= LIMITS.items) throw fail(`puts more than ${LIMITS.items} items in one dict`);
    holds(m, k);
    holds(m, v);
    if (m !== d) holds(d, m);
    m.set(k, v);
  };
  const append = (l, items) => {
    let a;
    if (Array.isArray(l) && !Object.isFrozen(l)) a = l;
    else if (l instanceof PyObject) a = l.list ??= made([], []);
    else throw fail('appends to something that is not a list');
    if (a.length + items.length > LIMITS.items) throw fail(`puts more than ${LIMITS.items} items in one list`);
    for (const x of items) { holds(a, x); a.push(x); } // no push(...items): a spread of millions overflows the call stack
    if (a !== l) holds(l, a);
  };
  const call = (fn, args) => {
    if (typeof fn !== 'function') throw fail(`calls ${describe(fn)}, which is not callable`);
    if (args.length > LIMITS.callArgs) throw fail(`calls a function with ${args.length} arguments, more than the ${LIMITS.callArgs} any tensor rebuild takes`);
    const v = fn(...args);
    if (v !== null && typeof v === 'object' && !depthOf.has(v)) depthOf.set(v, 1 + args.reduce((d, a) => Math.max(d, depth(a)), 0));
    if (depth(v) > LIMITS.depth) throw fail(`nests containers more than ${LIMITS.depth} deep`);
    return v;
  };
  const persistent = (pid) => {
    if (!opts.persistentLoad) throw fail('refers to external data, which this reader cannot resolve');
    return opts.persistentLoad(pid);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME: a framing hint only
      case 0x2e: // STOP
        if (stack.length !== 1) throw fail(`stops with ${stack.length} values on the stack instead of 1`);
        return stack[0];
      case 0x28: // MARK
        if (marks.length >= LIMITS.depth) throw fail(`opens more than ${LIMITS.depth} MARKs at once`);
        marks.push(stack);
        stack = [];
        break;
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      // ---- constants
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4b: push(u8()); break; // BININT1
      case 0x4d: push(u16()); break; // BININT2
      case 0x4a: push(i32()); break; // BININT
      case 0x49: push(intFromText(line())); break; // INT
      case 0x4c: push(intFromText(line())); break; // LONG
      case 0x8a: push(longLE(bytes(u8()))); break; // LONG1
      case 0x8b: { const n = i32(); if (n < 0) throw fail('has a negative LONG4 length'); push(longLE(bytes(n))); break; }
      case 0x47: { need(8); push(dv.getFloat64(p, false)); p += 8; break; } // BINFLOAT (big-endian)
      case 0x46: push(Number(line())); break; // FLOAT
      // ---- strings and bytes
      case 0x58: push(dec.decode(bytes(u32()))); break; // BINUNICODE
      case 0x8c: push(dec.decode(bytes(u8()))); break; // SHORT_BINUNICODE
      case 0x8d: push(dec.decode(bytes(u64()))); break; // BINUNICODE8
      case 0x56: push(line().replace(/\\u([0-9a-fA-F]{4})/g, (_, h) => String.fromCharCode(parseInt(h, 16)))); break; // UNICODE
      case 0x54: { const n = i32(); if (n < 0) throw fail('has a negative string length'); push(latin1.decode(bytes(n))); break; } // BINSTRING
      case 0x55: push(latin1.decode(bytes(u8()))); break; // SHORT_BINSTRING
      case 0x53: { const s = line(); push(s.slice(1, -1)); break; } // STRING (quoted repr; no escapes in torch data)
      case 0x42: push(bytes(u32()).slice()); break; // BINBYTES
      case 0x43: push(bytes(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: push(bytes(u64()).slice()); break; // BINBYTES8
      case 0x96: push(bytes(u64()).slice()); break; // BYTEARRAY8
      // ---- containers
      case 0x29: push(tuple([])); break; // EMPTY_TUPLE
      case 0x74: push(tuple(popMark())); break; // TUPLE
      case 0x85: push(tuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); push(tuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); push(tuple([a, b, c])); break; } // TUPLE3
      case 0x5d: push(made([], [])); break; // EMPTY_LIST
      case 0x6c: { const items = popMark(); push(made(items, items)); break; } // LIST
      case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
      case 0x7d: push(made(new Map(), [])); break; // EMPTY_DICT
      case 0x64: { const d = made(new Map(), []); setItems(d, popMark()); push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); setItem(top(), k, v); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x8f: push(made(new Set(), [])); break; // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set) || Object.isFrozen(s)) throw fail('adds items to something that is not a set');
        if (s.size + items.length > LIMITS.items) throw fail(`puts more than ${LIMITS.items} items in one set`);
        for (const i of items) { holds(s, i); s.add(i); }
        break;
      }
      case 0x91: { const items = popMark(); push(Object.freeze(made(new Set(items), items))); break; } // FROZENSET
      // ---- memo
      case 0x70: memo.set(Number(line()), top()); break; // PUT
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x67: case 0x68: case 0x6a: { // GET, BINGET, LONG_BINGET
        const k = op === 0x67 ? Number(line()) : op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw fail(`reads memo slot ${k}, which was never written`);
        push(memo.get(k));
        break;
      }
      // ---- objects, through the whitelist only
      case 0x63: { const module = line(); const name = line(); push(opts.findClass(module, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') {
          throw fail(`names a Python object by ${describeValue(module)} and ${describeValue(name)} instead of two strings`);
        }
        push(opts.findClass(module, name));
        break;
      }
      case 0x52: { const args = pop(); const fn = pop(); push(call(fn, asArgs(args, fail))); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); push(call(cls, asArgs(args, fail))); break; } // NEWOBJ
      case 0x92: { const kw = pop(); const args = pop(); const cls = pop(); void kw; push(call(cls, asArgs(args, fail))); break; } // NEWOBJ_EX
      case 0x62: { // BUILD: obj.__setstate__(state)
        const state = pop();
        const obj = top();
        if (obj instanceof PyObject) { holds(obj, state); obj.state = state; } else if (obj && typeof obj === 'object' && !Object.isFrozen(obj)) {
          // e.g. OrderedDict state (the _metadata of a state_dict): kept aside, not mixed into the items.
          holds(obj, state);
          Object.defineProperty(obj, 'pyState', { value: state, configurable: true });
        } else throw fail('sets the state of a value that has none');
        break;
      }
      case 0x51: push(persistent(pop())); break; // BINPERSID
      case 0x50: push(persistent(line())); break; // PERSID
      case 0x69: case 0x6f: case 0x82: case 0x83: case 0x84:
        throw fail(`uses the opcode 0x${op.toString(16)} (INST/OBJ/EXT), which only arbitrary Python objects need; refusing it`, 'unsupported');
      default:
        throw fail(`has the unknown opcode 0x${op.toString(16)} at byte ${p - 1}`);
    }
  }
}

/** @param {any} v */
function describe(v) {
  if (v instanceof PyObject) return `an instance of ${v.cls}`;
  if (v instanceof Map) return 'a dict';
  if (Array.isArray(v)) return 'a tuple or list';
  return typeof v;
}

/** @param {any} args @param {(why: string) => Error} fail */
function asArgs(args, fail) {
  if (!Array.isArray(args)) throw fail('passes call arguments that are not a tuple');
  return args;
}
