// describe.js — a short, bounded description of any value for an error message. Values from
// untrusted files (pickles, JSON headers) may be huge, cyclic, shared many times over (a DAG of
// 2^30 leaves in 200 bytes) or exotic (BigInt, Symbol, objects without a prototype): printing
// them with String() or JSON.stringify can take exponential time, throw, or say "null" for NaN.
// This visits at most a fixed number of nodes and never calls a value's own methods.

const MAX_NODES = 24;
/** Items of one array (or keys of one object) shown before the count. */
const MAX_ITEMS = 6;

/**
 * @param {unknown} v
 * @param {number} [maxChars] the description's most characters (longer ones end in '…')
 * @returns {string}
 */
export function describeValue(v, maxChars = 80) {
  let budget = MAX_NODES;
  /** @param {unknown} x @param {number} depth @returns {string} */
  const walk = (x, depth) => {
    if (--budget < 0) return '…';
    switch (typeof x) {
      case 'number': return Object.is(x, -0) ? '-0' : String(x); // NaN, Infinity spelled as such
      case 'bigint': return `${x}n`;
      case 'string': return quote(x.length > maxChars ? `${x.slice(0, maxChars)}…` : x);
      case 'boolean': return String(x);
      case 'undefined': return 'undefined';
      case 'symbol': return 'a symbol';
      case 'function': return 'a function';
      default: break;
    }
    if (x === null) return 'null';
    if (depth > 3) return '…';
    if (Array.isArray(x)) {
      const parts = [];
      for (let i = 0; i < x.length && i < MAX_ITEMS && budget > 0; i++) parts.push(walk(x[i], depth + 1));
      if (parts.length < x.length) parts.push(`… ${x.length} items`);
      return `[${parts.join(', ')}]`;
    }
    if (ArrayBuffer.isView(x)) return `${x.byteLength} bytes`;
    if (x instanceof Map) return `a dict of ${x.size} items`;
    if (x instanceof Set) return `a set of ${x.size} items`;
    const keys = Object.keys(/** @type {object} */ (x));
    const parts = [];
    for (let i = 0; i < keys.length && i < MAX_ITEMS && budget > 0; i++) {
      parts.push(`${quote(keys[i].slice(0, 40))}: ${walk(/** @type {any} */ (x)[keys[i]], depth + 1)}`);
    }
    if (parts.length < keys.length) parts.push(`… ${keys.length} keys`);
    return `{${parts.join(', ')}}`;
  };
  const s = walk(v, 0);
  return s.length > maxChars ? `${s.slice(0, maxChars - 1)}…` : s;
}

/** A string in single quotes, control characters escaped as in JSON. @param {string} s */
function quote(s) {
  return `'${JSON.stringify(s).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
}
