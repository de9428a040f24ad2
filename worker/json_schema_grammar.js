// json_schema_grammar.js — JSON Schema -> GBNF (the grammar dialect the engine compiles), so
// that constrained generation emits one JSON value that validates against the schema.
//
// Supported: type (one or a list), properties + required (properties are written in the
// schema's order; optional ones may be left out; no other properties are written, which is
// valid whatever additionalProperties says), enum, const, items with minItems/maxItems,
// nested objects, anyOf / oneOf (oneOf as anyOf: its alternatives must not overlap), allOf
// with one member, $ref to #/$defs/... or #/definitions/... (recursion allowed), string
// minLength/maxLength and the regular formats date, time, date-time, uuid, integer, number,
// boolean, null, and {} / true for any JSON value. Annotations (title, description, default,
// examples, $schema, $id, $comment, deprecated, readOnly, writeOnly) are ignored. Any other
// keyword is an UnsupportedError naming it and where it is; a schema that is not one is an
// ArgumentError.
//
// The values written are compact JSON with at most one space after ',' and ':'. Dates never
// use day 29 of February or days a month lacks, so every date written is valid.

import { ArgumentError, UnsupportedError } from './errors.js';

const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', '$schema', '$id', '$comment',
  'deprecated', 'readOnly', 'writeOnly']);
const SUPPORTED = new Set(['type', 'properties', 'required', 'additionalProperties', 'enum', 'const', 'items',
  'minItems', 'maxItems', 'anyOf', 'oneOf', 'allOf', '$ref', '$defs', 'definitions', 'minLength', 'maxLength', 'format']);
const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null', 'object', 'array']);
/** The engine's largest {m,n} count (src/grammar.h MLLM_GRAMMAR_MAX_REPEAT). */
const MAX_REPEAT = 1000;

// Building blocks, written only when used.
const PRIMITIVES = {
  ws: 'ws ::= " "?',
  char: 'char ::= [^"\\\\\\x00-\\x1F\\x7F] | "\\\\" (["\\\\/bfnrt] | "u" ([0-9a-cA-CeEfF] hex hex hex | [dD] [0-7] hex hex))',
  hex: 'hex ::= [0-9a-fA-F]',
  string: 'string ::= "\\"" char* "\\""',
  integer: 'integer ::= "-"? ([0-9] | [1-9] [0-9]{1,15})',
  number: 'number ::= integer ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})?',
  boolean: 'boolean ::= "true" | "false"',
  null: 'null ::= "null"',
  value: 'value ::= object | array | string | number | boolean | null',
  object: 'object ::= "{" ws (string ws ":" ws value (ws "," ws string ws ":" ws value)*)? ws "}"',
  array: 'array ::= "[" ws (value (ws "," ws value)*)? ws "]"',
  date: 'date ::= [0-9]{4} "-" (("0" [13578] | "1" [02]) "-" ("0" [1-9] | [12] [0-9] | "3" [01]) | ("0" [469] | "11") "-" ("0" [1-9] | [12] [0-9] | "30") | "02-" ("0" [1-9] | "1" [0-9] | "2" [0-8]))',
  time: 'time ::= ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? "Z"',
  uuid: 'uuid ::= hex{8} "-" hex{4} "-" hex{4} "-" hex{4} "-" hex{12}',
};
const DEPENDS = {
  string: ['char'], char: ['hex'], number: ['integer'], value: ['object', 'array', 'string', 'number', 'boolean', 'null'],
  object: ['ws', 'string', 'value'], array: ['ws', 'value'], uuid: ['hex'],
};

/** A GBNF string literal for arbitrary text. @param {string} s */
function literal(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/** A JSON value written as compact JSON, as a GBNF literal. @param {unknown} v */
function jsonLiteral(v) { return literal(JSON.stringify(v)); }

class Converter {
  constructor(root) {
    this.root = root;
    /** @type {Map<string, string>} rule name -> body */
    this.rules = new Map();
    this.used = new Set();
    /** @type {Map<string, string>} $ref -> rule name */
    this.refs = new Map();
    this.n = 0;
  }

  use(name) {
    if (this.used.has(name)) return name;
    this.used.add(name);
    for (const d of DEPENDS[name] ?? []) this.use(d);
    return name;
  }

  newRule(hint, body) {
    const name = `${hint.replace(/[^a-zA-Z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'r'}-${this.n++}`;
    if (body !== undefined) this.rules.set(name, body);
    return name;
  }

  fail(path, msg) { throw new UnsupportedError(`The JSON schema ${msg} at ${path || '/'}, which constrained generation does not support.`); }
  bad(path, msg) { throw new ArgumentError(`The JSON schema is invalid at ${path || '/'}: ${msg}.`); }

  /** The GBNF expression for a schema. @param {any} s @param {string} path */
  visit(s, path) {
    if (s === true) return this.use('value');
    if (s === false) this.bad(path, 'the schema false allows no value');
    if (s === null || typeof s !== 'object' || Array.isArray(s)) this.bad(path, 'a schema must be an object or a boolean');
    for (const k of Object.keys(s)) {
      if (!SUPPORTED.has(k) && !ANNOTATIONS.has(k)) this.fail(path, `keyword '${k}'`);
    }
    if (s.$ref !== undefined) {
      if (Object.keys(s).some((k) => !ANNOTATIONS.has(k) && k !== '$ref' && k !== '$defs' && k !== 'definitions')) {
        this.fail(path, 'combination of $ref with other keywords');
      }
      return this.ref(s.$ref, path);
    }
    if (s.const !== undefined) return jsonLiteral(s.const);
    if (s.enum !== undefined) {
      if (!Array.isArray(s.enum) || s.enum.length === 0) this.bad(path, 'enum must be a non-empty array');
      return '(' + s.enum.map(jsonLiteral).join(' | ') + ')';
    }
    for (const key of ['anyOf', 'oneOf']) {
      if (s[key] === undefined) continue;
      if (!Array.isArray(s[key]) || s[key].length === 0) this.bad(path, `${key} must be a non-empty array`);
      if (s.type !== undefined || s.properties !== undefined || s.items !== undefined) this.fail(path, `combination of ${key} with type, properties or items`);
      return '(' + s[key].map((x, i) => this.visit(x, `${path}/${key}/${i}`)).join(' | ') + ')';
    }
    if (s.allOf !== undefined) {
      if (!Array.isArray(s.allOf) || s.allOf.length !== 1) this.fail(path, 'allOf with other than one member');
      return this.visit(s.allOf[0], `${path}/allOf/0`);
    }
    let type = s.type;
    if (type === undefined) {
      if (s.properties !== undefined || s.required !== undefined) type = 'object';
      else if (s.items !== undefined || s.minItems !== undefined || s.maxItems !== undefined) type = 'array';
      else if (s.minLength !== undefined || s.maxLength !== undefined || s.format !== undefined) type = 'string';
      else return this.use('value');
    }
    if (Array.isArray(type)) {
      if (type.length === 0) this.bad(path, 'type must not be an empty list');
      return '(' + type.map((t) => this.typed(s, t, path)).join(' | ') + ')';
    }
    return this.typed(s, type, path);
  }

  typed(s, type, path) {
    if (!TYPES.has(type)) this.bad(path, `unknown type ${JSON.stringify(type)}`);
    switch (type) {
      case 'string': return this.string(s, path);
      case 'integer': return this.use('integer');
      case 'number': return this.use('number');
      case 'boolean': return this.use('boolean');
      case 'null': return this.use('null');
      case 'object': return this.object(s, path);
      default: return this.array(s, path);
    }
  }

  count(s, key, path) {
    const v = s[key];
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || v < 0) this.bad(path, `${key} must be a non-negative integer`);
    if (v > MAX_REPEAT) this.fail(path, `${key} of ${v} (above ${MAX_REPEAT})`);
    return v;
  }

  /** `x{min,max}` in GBNF. */
  repeat(x, min, max) {
    if (max === undefined) return min === 0 ? `${x}*` : min === 1 ? `${x}+` : `${x}{${min},}`;
    return min === max ? `${x}{${min}}` : `${x}{${min},${max}}`;
  }

  string(s, path) {
    const min = this.count(s, 'minLength', path) ?? 0, max = this.count(s, 'maxLength', path);
    if (max !== undefined && max < min) this.bad(path, 'maxLength is below minLength');
    if (s.format !== undefined) {
      if (s.minLength !== undefined || s.maxLength !== undefined) this.fail(path, 'combination of format with minLength/maxLength');
      const f = { date: 'date', time: 'time', 'date-time': null, uuid: 'uuid' }[s.format];
      if (f === undefined) this.fail(path, `string format '${s.format}'`);
      if (f === null) return `"\\"" ${this.use('date')} "T" ${this.use('time')} "\\""`;
      return `"\\"" ${this.use(f)} "\\""`;
    }
    if (min === 0 && max === undefined) return this.use('string');
    this.use('char');
    return `"\\"" ${this.repeat('char', min, max)} "\\""`;
  }

  object(s, path) {
    const props = s.properties ?? {};
    if (typeof props !== 'object' || props === null || Array.isArray(props)) this.bad(path, 'properties must be an object');
    const required = s.required ?? [];
    if (!Array.isArray(required) || !required.every((r) => typeof r === 'string')) this.bad(path, 'required must be an array of strings');
    for (const r of required) {
      if (!Object.hasOwn(props, r)) this.fail(path, `required property '${r}' without a schema in properties`);
    }
    if (s.additionalProperties !== undefined && typeof s.additionalProperties !== 'boolean'
      && (typeof s.additionalProperties !== 'object' || s.additionalProperties === null)) {
      this.bad(path, 'additionalProperties must be a boolean or a schema');
    }
    const names = Object.keys(props);
    if (names.length === 0) {
      if (s.additionalProperties === false) return '"{" ws "}"';
      return this.use('object');
    }
    this.use('ws');
    const kv = names.map((k) => `${literal(JSON.stringify(k))} ws ":" ws ${this.visit(props[k], `${path}/properties/${k}`)}`);
    const req = names.map((k) => required.includes(k));
    // first[i]: properties i.. when none was written yet; next[i]: after one was (a comma first)
    const first = [], next = [];
    for (let i = 0; i <= names.length; i++) {
      first.push(this.newRule(`${path}-first`));
      next.push(this.newRule(`${path}-next`));
    }
    this.rules.set(first[names.length], '""');
    this.rules.set(next[names.length], '""');
    for (let i = names.length - 1; i >= 0; i--) {
      const f = `${kv[i]} ${next[i + 1]}`, n = `ws "," ws ${kv[i]} ${next[i + 1]}`;
      this.rules.set(first[i], req[i] ? f : `${f} | ${first[i + 1]}`);
      this.rules.set(next[i], req[i] ? n : `${n} | ${next[i + 1]}`);
    }
    return `"{" ws ${first[0]} ws "}"`;
  }

  array(s, path) {
    const min = this.count(s, 'minItems', path) ?? 0, max = this.count(s, 'maxItems', path);
    if (max !== undefined && max < min) this.bad(path, 'maxItems is below minItems');
    if (Array.isArray(s.items)) this.fail(path, 'items given as a list (tuple form)');
    this.use('ws');
    const item = this.newRule(`${path}-item`, this.visit(s.items ?? true, `${path}/items`));
    if (max === 0) return '"[" ws "]"';
    const rest = this.repeat(`(ws "," ws ${item})`, Math.max(0, min - 1), max === undefined ? undefined : max - 1);
    const body = `${item} ${rest}`;
    return min === 0 ? `"[" ws (${body})? ws "]"` : `"[" ws ${body} ws "]"`;
  }

  ref(ref, path) {
    if (this.refs.has(ref)) return this.refs.get(ref);
    const m = typeof ref === 'string' && /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref);
    if (!m) this.fail(path, `$ref '${ref}' (only #/$defs/NAME and #/definitions/NAME are supported)`);
    const name = m[2].replace(/~1/g, '/').replace(/~0/g, '~');
    const defs = this.root?.[m[1]];
    if (!defs || typeof defs !== 'object' || !Object.hasOwn(defs, name)) this.bad(path, `$ref '${ref}' points to nothing`);
    const rule = this.newRule(`def-${name}`);
    this.refs.set(ref, rule);
    this.rules.set(rule, this.visit(defs[name], `/${m[1]}/${name}`));
    return rule;
  }
}

/**
 * The GBNF grammar of the JSON values that validate against `schema`.
 * @param {object|boolean|string} schema a JSON Schema (an object, a boolean, or its JSON text)
 * @returns {string}
 */
export function jsonSchemaToGrammar(schema) {
  if (typeof schema === 'string') {
    try { schema = JSON.parse(schema); } catch (e) { throw new ArgumentError(`The JSON schema is not valid JSON: ${e.message.replace(/\.$/, '')}.`); }
  }
  const c = new Converter(schema);
  const root = c.visit(schema, '');
  const lines = [`root ::= ${root}`];
  for (const [name, body] of c.rules) lines.push(`${name} ::= ${body}`);
  for (const name of Object.keys(PRIMITIVES)) if (c.used.has(name)) lines.push(PRIMITIVES[name]);
  return lines.join('\n') + '\n';
}
