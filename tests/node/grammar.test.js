// grammar.test.js — grammar- and JSON-schema-constrained generation on the wasm build: many
// seeded samples at high temperature (every token the sampler may pick) from random-weight
// models with a SentencePiece byte-fallback vocabulary, a GPT-2 byte-level one, the real
// LLaMA-2 vocabulary, and the bundled model; every output must parse and validate (ajv, an
// independent validator) or match an independent regular expression, also when maxTokens is
// far too small for the text the model wanted to write (the completion is forced).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { Engine, Generator, Grammar, MobileLLMError } from '../../wasm_build/engine.js';
import { jsonSchemaToGrammar } from '../../worker/json_schema_grammar.js';
import { makeRandomModel } from '../../tools/make_random_model.js';
import { makeVocabModels } from '../fixtures/make_vocab_models.js';
import { scratchDir, ROOT } from '../ref/fixtures.js';
import { MobileLLM } from '../../worker/index.js';

const work = scratchDir('grammar');
const ajv = new Ajv({ strict: false });
addFormats(ajv);

const SCHEMAS = {
  person: {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 12 },
      age: { type: 'integer' },
      email: { type: ['string', 'null'] },
      tags: { type: 'array', items: { enum: ['red', 'green', 'blue'] }, minItems: 1, maxItems: 3 },
      ok: { type: 'boolean' },
    },
    required: ['name', 'age', 'tags'],
  },
  call: { // an API call: a tool name and its arguments, nested and with formats
    type: 'object',
    properties: {
      function: { const: 'book_table' },
      arguments: {
        type: 'object',
        properties: {
          date: { type: 'string', format: 'date' },
          time: { type: 'string', format: 'time' },
          at: { type: 'string', format: 'date-time' },
          id: { type: 'string', format: 'uuid' },
          party: { type: 'number' },
        },
        required: ['date', 'id', 'party'],
      },
    },
    required: ['function', 'arguments'],
  },
  tree: { // recursion through $defs, anyOf, oneOf with disjoint alternatives
    $defs: {
      node: {
        type: 'object',
        properties: { v: { oneOf: [{ type: 'integer' }, { type: 'string', maxLength: 3 }] }, kids: { type: 'array', items: { $ref: '#/$defs/node' }, maxItems: 2 } },
        required: ['v'],
      },
    },
    anyOf: [{ $ref: '#/$defs/node' }, { type: 'null' }],
  },
  anything: {},
  list: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 4 },
};
/** maxTokens per schema: the smallest is just above what its shortest value takes */
const BUDGETS = { call: [110, 160, 300] };

const GRAMMARS = [ // GBNF and an independent regular expression for the same language
  { gbnf: 'root ::= word ("," " "? word){0,3} "."\nword ::= [a-z]+ | [0-9]{1,3}', re: /^([a-z]+|[0-9]{1,3})(, ?([a-z]+|[0-9]{1,3})){0,3}\.$/ },
  { gbnf: 'root ::= "<" [^<>]* ">" # a tag\n', re: /^<[^<>]*>$/u },
  { gbnf: 'root ::= ("yes" | "no" | "maybe") "!"?', re: /^(yes|no|maybe)!?$/ },
];

let eng;
const models = {};

before(async () => {
  eng = await Engine.create();
  const vocab = makeVocabModels(path.join(work, 'vocab'));
  const load = (bytes) => eng.loadModel(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  models.sp = load(makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 11, nVocab: 600, nCtx: 512 }));
  models.bpe = load(fs.readFileSync(vocab['bpe-smollm.gguf'] ?? path.join(work, 'vocab', 'bpe-smollm.gguf')));
  models.llama2 = load(fs.readFileSync(vocab['llama2-vocab.gguf'] ?? path.join(work, 'vocab', 'llama2-vocab.gguf')));
  models.bundled = load(fs.readFileSync(path.join(ROOT, 'models/default.gguf')));
});

/** One constrained generation; returns the text and why it stopped. */
function generate(model, gbnf, { seed, maxTokens, prompt = 'Answer:', temperature = 2.0 }) {
  const ctx = model.newContext({ nCtx: 512 });
  const sampler = model.newSampler({ temperature, topK: 0, topP: 1, minP: 0, repeatPenalty: 1, seed });
  const grammar = new Grammar(model, gbnf);
  let gen;
  try {
    ctx.eval(model.tokenize(prompt));
    gen = new Generator(ctx, sampler, { maxTokens, grammar });
    let text = '', n = 0, stop;
    for (;;) {
      const r = gen.step();
      text += r.text;
      if (r.token >= 0) n++;
      if (r.stop) { stop = r.stop; break; }
    }
    return { text, stop, n };
  } finally {
    gen?.free();
    grammar.free();
    sampler.free();
    ctx.free();
  }
}

for (const [name, schema] of Object.entries(SCHEMAS)) {
  test(`JSON schema '${name}': every high-temperature sample parses and validates, at any maxTokens`, () => {
    const gbnf = jsonSchemaToGrammar(schema);
    const validate = ajv.compile(schema);
    let checked = 0;
    for (const [mname, model] of Object.entries(models)) {
      for (let seed = 1; seed <= 5; seed++) {
        for (const maxTokens of BUDGETS[name] ?? [40, 80, 200]) {
          let r;
          try {
            r = generate(model, gbnf, { seed: seed * 101 + maxTokens, maxTokens });
          } catch (e) {
            // only a budget below the schema's shortest value may fail, and it says so
            assert.ok(e instanceof MobileLLMError && e.code === 'argument' && /shortest value needs \d+ tokens/.test(e.message), e.message);
            continue;
          }
          assert.ok(r.n <= maxTokens);
          let value;
          assert.doesNotThrow(() => { value = JSON.parse(r.text); }, `${mname} seed ${seed} max ${maxTokens}: not JSON: ${r.text}`);
          assert.ok(validate(value), `${mname} seed ${seed} max ${maxTokens}: ${r.text}\n${ajv.errorsText(validate.errors)}`);
          checked++;
        }
      }
    }
    assert.ok(checked >= 45, `only ${checked} samples checked`);
  });
}

test('GBNF grammars: every sample matches an independent regular expression, at any maxTokens', () => {
  for (const { gbnf, re } of GRAMMARS) {
    for (const [mname, model] of Object.entries(models)) {
      for (let seed = 1; seed <= 5; seed++) {
        for (const maxTokens of [3, 6, 12, 60]) {
          const r = generate(model, gbnf, { seed, maxTokens });
          assert.match(r.text, re, `${mname} seed ${seed} max ${maxTokens}: ${JSON.stringify(r.text)}`);
          assert.ok(r.n <= maxTokens);
        }
      }
    }
  }
});

test('a value that can go no further ends the run with stop eos before maxTokens', () => {
  const r = generate(models.bundled, 'root ::= "yes" | "no"', { seed: 1, maxTokens: 50 });
  assert.match(r.text, /^(yes|no)$/);
  assert.equal(r.stop, 'eos');
  assert.ok(r.n <= 3);
});

test('too small a budget for the shortest value is one coded error, nothing emitted as success', () => {
  const gbnf = 'root ::= "' + 'x'.repeat(20) + '"';
  assert.throws(() => generate(models.sp, gbnf, { seed: 1, maxTokens: 5 }),
    (e) => e instanceof MobileLLMError && e.code === 'argument' && /needs \d+ tokens but only 5/.test(e.message));
});

test('grammar mistakes are one-sentence argument errors with line and column', () => {
  const cases = [
    ['root ::= "a" |\nfoo ::= bar', /rule 'bar' is used but never defined/],
    ['root ::= [a-', /ends inside a string or character class/],
    ['root ::= root "x" | "y"', /left-recursive/],
    ['start ::= "x"', /no 'root' rule/],
  ];
  for (const [gbnf, re] of cases) {
    assert.throws(() => new Grammar(models.sp, gbnf), (e) => {
      assert.ok(e instanceof MobileLLMError);
      assert.equal(e.code, 'argument');
      assert.match(e.message, re);
      assert.match(e.message, /^[^\n]+\.$/);
      return true;
    });
  }
});

test('JSON schemas the converter cannot express are coded errors naming the keyword', () => {
  const cases = [
    [{ type: 'string', pattern: '^a+$' }, 'unsupported', /keyword 'pattern' at \//],
    [{ type: 'string', format: 'email' }, 'unsupported', /string format 'email'/],
    [{ type: 'object', properties: { a: { type: 'integer', minimum: 3 } } }, 'unsupported', /keyword 'minimum' at \/properties\/a/],
    [{ $ref: 'http://example.com/s.json' }, 'unsupported', /\$ref/],
    [{ type: 'strng' }, 'argument', /unknown type "strng"/],
    [{ enum: [] }, 'argument', /enum must be a non-empty array/],
    ['{not json', 'argument', /not valid JSON/],
    [false, 'argument', /allows no value/],
  ];
  for (const [schema, code, re] of cases) {
    assert.throws(() => jsonSchemaToGrammar(schema), (e) => {
      assert.ok(e instanceof MobileLLMError, String(e));
      assert.equal(e.code, code);
      assert.match(e.message, re);
      assert.match(e.message, /^[^\n]+\.$/);
      return true;
    });
  }
});

test('mobilellm generate --json-schema / --grammar print exactly the constrained value', () => {
  const schemaFile = path.join(work, 'person.json');
  fs.writeFileSync(schemaFile, JSON.stringify(SCHEMAS.person));
  const gFile = path.join(work, 'yn.gbnf');
  fs.writeFileSync(gFile, GRAMMARS[2].gbnf);
  const cli = path.join(ROOT, 'bin/mobilellm.js');
  const validate = ajv.compile(SCHEMAS.person);
  for (const [args, check] of [
    [['--json-schema', schemaFile, '-n', '60'], (out) => assert.ok(validate(JSON.parse(out)), out)],
    [['--json-schema', JSON.stringify(SCHEMAS.list), '-n', '30'], (out) => assert.ok(ajv.validate(SCHEMAS.list, JSON.parse(out)), out)],
    [['--grammar', gFile, '-n', '10'], (out) => assert.match(out, GRAMMARS[2].re)],
  ]) {
    const r = spawnSync(process.execPath, [cli, 'generate', ...args, '--seed', '5', '--temp', '1.5', 'The answer is'],
      { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.endsWith('\n'));
    check(r.stdout.slice(0, -1));
  }
  const bad = spawnSync(process.execPath, [cli, 'generate', '--json-schema', '{"type":"string","pattern":"x"}', 'hi'],
    { cwd: ROOT, encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /^mobilellm: The JSON schema keyword 'pattern' at \/, which constrained generation does not support\.\n$/);
});

test('the JS API: generate(prompt, { jsonSchema | grammar }) streams exactly one valid value (worker and in-process)', async () => {
  const schema = SCHEMAS.person, validate = ajv.compile(schema);
  for (const worker of [true, false]) {
    const llm = await MobileLLM.load(path.join(ROOT, 'models/default.gguf'), { cacheDir: path.join(work, 'cache'), worker });
    try {
      for (let seed = 1; seed <= 3; seed++) {
        let text = '';
        for await (const t of llm.generate('A person:', { jsonSchema: schema, maxTokens: 40, temperature: 1.5, seed })) text += t.text;
        assert.ok(validate(JSON.parse(text)), text);
      }
      let text = '';
      for await (const t of llm.generate('Say yes or no:', { grammar: GRAMMARS[2].gbnf, maxTokens: 8, seed: 2 })) text += t.text;
      assert.match(text, GRAMMARS[2].re);
      await assert.rejects(async () => { for await (const _ of llm.generate('x', { jsonSchema: { type: 'string', pattern: 'a' } })); },
        (e) => e.code === 'unsupported' && /keyword 'pattern'/.test(e.message));
      await assert.rejects(async () => { for await (const _ of llm.generate('x', { grammar: 'root ::= [' })); },
        (e) => e.code === 'argument' && /grammar line 1, column/.test(e.message));
      await assert.rejects(async () => { for await (const _ of llm.generate('x', { grammar: 'root ::= "a"', jsonSchema: {} })); },
        (e) => e.code === 'argument' && /not both/.test(e.message));
      await assert.rejects(async () => { for await (const _ of llm.generate('x', { grammar: 'root ::= "a"', stop: ['b'] })); },
        (e) => e.code === 'argument' && /stop cannot be combined/.test(e.message));
    } finally {
      await llm.unload();
    }
  }
});
