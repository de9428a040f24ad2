// llm.chat.completions.create() (worker/chat.js): OpenAI-shaped replies and chunks, the reply
// being generate() on the rendered prompt, response_format outputs validating (ajv) over seeded
// samples at high temperature, tool calls round-tripping in the three formats (hermes: Qwen2.5's
// template; llama3: Llama 3.1's; the fallback: the bundled model without a template), and bad
// requests as coded errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';

import { MobileLLM } from '../../worker/index.js';
import { makeRandomModel } from '../../tools/make_random_model.js';
import { ROOT } from '../ref/fixtures.js';

const ajv = new Ajv({ strict: false });
const BUNDLED = path.join(ROOT, 'models/default.gguf');
const template = (name) => fs.readFileSync(path.join(ROOT, `tests/ref/chat_templates/${name}.jinja`), 'utf8');
const SPECIALS = ['<|begin_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>', '<|eom_id|>', '<|python_tag|>',
  '<|im_start|>', '<|im_end|>'];

/** A random-weight model with a chat template and its control tokens. */
function randomChatModel(name, seed = 1) {
  return MobileLLM.load(makeRandomModel({ shape: 'tiny', nVocab: 3000, seed, specials: SPECIALS, chatTemplate: template(name), nCtx: 4096 }), { worker: false });
}

/** usage without prompt_tokens_details (what a request reuses depends on the one before). */
const sansCache = ({ prompt_tokens_details, ...u }) => (assert.equal(typeof prompt_tokens_details?.cached_tokens, 'number'), u);

const WEATHER = { type: 'function', function: { name: 'get_weather', description: 'Weather of a city.',
  parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 12 }, unit: { enum: ['celsius', 'fahrenheit'] } }, required: ['city'] } } };
const ADD = { type: 'function', function: { name: 'add', description: 'Add two integers.',
  parameters: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'] } } };

test('a reply is an OpenAI chat.completion whose content is generate() on the rendered prompt', async () => {
  const llm = await MobileLLM.load(BUNDLED, { worker: false });
  try {
    const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Tell me about the sea.' }];
    const r = await llm.chat.completions.create({ messages, max_tokens: 16, seed: 5, temperature: 0.8 });
    // the bundled model has no template: the documented plain format, written out here by hand
    const ids = await llm.tokenize('Be brief.\n\nUser: Tell me about the sea.\nAssistant:', { parseSpecial: true });
    let text = '';
    for await (const t of llm.generate(ids, { maxTokens: 16, seed: 5, temperature: 0.8, stop: ['\nUser:'] })) text += t.text;
    const stats = llm.lastStats;
    assert.match(r.id, /^chatcmpl-[0-9a-f]{24}$/);
    assert.equal(r.object, 'chat.completion');
    assert.ok(Number.isInteger(r.created) && Math.abs(r.created - Date.now() / 1000) < 60);
    assert.equal(r.model, llm.info.name);
    assert.equal(r.choices.length, 1);
    // (the space after "Assistant:" is the format's, not the reply's)
    assert.deepEqual(r.choices[0], { index: 0, message: { role: 'assistant', content: text.replace(/^ /, '') }, logprobs: null,
      finish_reason: stats.stopReason === 'length' ? 'length' : 'stop' });
    assert.ok(text.length > 0);
    assert.deepEqual(r.usage, { prompt_tokens: ids.length, completion_tokens: stats.generatedTokens, total_tokens: ids.length + stats.generatedTokens,
      prompt_tokens_details: { cached_tokens: 0 } }); // the model's first request: nothing to reuse
  } finally {
    await llm.unload();
  }
});

test('stream: true gives chat.completion.chunks (role first, the same text, finish_reason, usage last)', async () => {
  const llm = await MobileLLM.load(BUNDLED); // through the worker
  try {
    const req = { messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 12, seed: 9, temperature: 1 };
    const whole = await llm.chat.completions.create(req);
    const chunks = [];
    for await (const c of await llm.chat.completions.create({ ...req, stream: true })) chunks.push(c);
    assert.ok(chunks.length >= 4);
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id && c.created === chunks[0].created));
    assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
    const body = chunks.slice(1, -2);
    assert.ok(body.every((c) => c.choices[0].finish_reason === null && typeof c.choices[0].delta.content === 'string' && c.choices[0].delta.content));
    assert.equal(body.map((c) => c.choices[0].delta.content).join(''), whole.choices[0].message.content);
    assert.deepEqual(chunks.at(-2).choices[0], { index: 0, delta: {}, logprobs: null, finish_reason: whole.choices[0].finish_reason });
    assert.deepEqual(chunks.at(-1).choices, []);
    assert.deepEqual(sansCache(chunks.at(-1).usage), sansCache(whole.usage)); // (the second request reuses the first's prompt)
  } finally {
    await llm.unload();
  }
});

test('info has the template, the special tokens\' text and every end-of-generation id', async () => {
  const llm = await randomChatModel('qwen2.5-7b-instruct');
  try {
    assert.equal(llm.info.chatTemplate, template('qwen2.5-7b-instruct'));
    assert.equal(llm.info.bosText, '<s>');
    assert.equal(llm.info.eosText, '</s>');
    const [imEnd] = await llm.tokenize('<|im_end|>', { parseSpecial: true, addBos: false });
    const [eot] = await llm.tokenize('<|eot_id|>', { parseSpecial: true, addBos: false });
    const [eom] = await llm.tokenize('<|eom_id|>', { parseSpecial: true, addBos: false });
    assert.deepEqual(llm.info.eogIds, [2, eot, eom, imEnd].sort((a, b) => a - b));
    assert.equal(imEnd, 3000 - 1);
  } finally {
    await llm.unload();
  }
});

const SCHEMAS = [
  { type: 'object', properties: { name: { type: 'string', maxLength: 10 }, age: { type: 'integer' }, ok: { type: 'boolean' } }, required: ['name', 'age'] },
  { type: 'object', properties: { tags: { type: 'array', items: { enum: ['a', 'b', 'c'] }, minItems: 1, maxItems: 3 }, n: { type: 'number' } }, required: ['tags'] },
  { type: 'array', items: { type: 'integer' }, maxItems: 4 },
];

test('response_format json_schema / json_object: every sample at temperature 1.5 parses and validates', async () => {
  for (const [load, seeds, note] of [[() => randomChatModel('llama-3.1-8b-instruct', 3), 8, 'random'], [() => MobileLLM.load(BUNDLED, { worker: false }), 3, 'bundled']]) {
    const llm = await load();
    try {
      for (const schema of SCHEMAS) {
        const validate = ajv.compile(schema);
        for (let seed = 0; seed < seeds; seed++) {
          const r = await llm.chat.completions.create({ messages: [{ role: 'user', content: 'Answer in JSON.' }], seed, temperature: 1.5,
            max_tokens: 60, response_format: { type: 'json_schema', json_schema: { name: 'answer', schema } } });
          const value = JSON.parse(r.choices[0].message.content);
          assert.ok(validate(value), `${note} seed ${seed}: ${r.choices[0].message.content} ${ajv.errorsText(validate.errors)}`);
          assert.equal(r.choices[0].finish_reason, 'stop');
        }
      }
      for (let seed = 0; seed < seeds; seed++) {
        const r = await llm.chat.completions.create({ messages: [{ role: 'user', content: 'JSON please' }], seed, temperature: 1.5, max_tokens: 40,
          response_format: { type: 'json_object' } });
        const v = JSON.parse(r.choices[0].message.content);
        assert.ok(v && typeof v === 'object' && !Array.isArray(v), r.choices[0].message.content);
      }
    } finally {
      await llm.unload();
    }
  }
});

/** One tool-call round trip: a forced call validates; the tool's answer continues the conversation. */
async function roundTrip(llm, tools, choice, seed, messages = [{ role: 'system', content: 'You can use tools.' }, { role: 'user', content: 'What is the weather in Oslo?' }]) {
  const r = await llm.chat.completions.create({ messages, tools, tool_choice: choice, max_tokens: 120, seed, temperature: 1.5 });
  const c = r.choices[0];
  assert.equal(c.finish_reason, 'tool_calls');
  assert.equal(c.message.content, null);
  assert.equal(c.message.tool_calls.length, 1);
  const call = c.message.tool_calls[0];
  assert.match(call.id, /^call_[0-9a-f]{16}$/);
  assert.equal(call.type, 'function');
  const tool = tools.find((t) => t.function.name === call.function.name);
  assert.ok(tool, call.function.name);
  if (typeof choice === 'object') assert.equal(call.function.name, choice.function.name);
  assert.equal(typeof call.function.arguments, 'string');
  const validate = ajv.compile(tool.function.parameters);
  assert.ok(validate(JSON.parse(call.function.arguments)), `${call.function.arguments} ${ajv.errorsText(validate.errors)}`);
  const next = await llm.chat.completions.create({ messages: [...messages, c.message, { role: 'tool', tool_call_id: call.id, content: '{"temperature": 4}' }],
    tools, tool_choice: 'none', max_tokens: 8, seed });
  assert.equal(next.choices[0].message.role, 'assistant');
  assert.equal(typeof next.choices[0].message.content, 'string');
  const without = await llm.chat.completions.create({ messages, tools, tool_choice: 'none', max_tokens: 1, seed });
  assert.ok(next.usage.prompt_tokens > without.usage.prompt_tokens + 8, 'the call and its result are in the second prompt');
  return r;
}

test('tool calls round-trip in the hermes (Qwen2.5), llama3 (Llama 3.1) and fallback formats', async () => {
  for (const name of ['qwen2.5-7b-instruct', 'llama-3.1-8b-instruct']) {
    const llm = await randomChatModel(name, 7);
    try {
      for (let seed = 0; seed < 4; seed++) await roundTrip(llm, [WEATHER, ADD], seed % 2 ? 'required' : { type: 'function', function: { name: 'add' } }, seed);
      // auto: this random model answers in text; a reply is then plain content
      const r = await llm.chat.completions.create({ messages: [{ role: 'user', content: 'hi' }], tools: [WEATHER], max_tokens: 6, seed: 1 });
      assert.ok(r.choices[0].finish_reason === 'tool_calls' || typeof r.choices[0].message.content === 'string');
    } finally {
      await llm.unload();
    }
  }
  const llm = await MobileLLM.load(BUNDLED, { worker: false });
  try {
    // its context is 256 tokens: a short request and a small tool
    const city = { type: 'function', function: { name: 'city', parameters: { type: 'object', properties: { name: { type: 'string', maxLength: 6 } }, required: ['name'] } } };
    await roundTrip(llm, [city], 'required', 3, [{ role: 'user', content: 'Oslo?' }]);
  } finally {
    await llm.unload();
  }
});

test('a streamed tool call arrives whole in one tool_calls delta', async () => {
  const llm = await randomChatModel('qwen2.5-7b-instruct', 2);
  try {
    const req = { messages: [{ role: 'user', content: 'add' }], tools: [ADD], tool_choice: 'required', max_tokens: 80, seed: 4, temperature: 1 };
    const whole = await llm.chat.completions.create(req);
    const chunks = [];
    for await (const c of await llm.chat.completions.create({ ...req, stream: true })) chunks.push(c);
    const calls = chunks.filter((c) => c.choices[0]?.delta.tool_calls);
    assert.equal(calls.length, 1);
    const { index, ...call } = calls[0].choices[0].delta.tool_calls[0];
    assert.equal(index, 0);
    assert.deepEqual({ ...call, id: 'x' }, { ...whole.choices[0].message.tool_calls[0], id: 'x' });
    assert.equal(chunks.at(-2).choices[0].finish_reason, 'tool_calls');
    assert.deepEqual(sansCache(chunks.at(-1).usage), sansCache(whole.usage)); // (the second request reuses the first's prompt)
  } finally {
    await llm.unload();
  }
});

test('bad requests are coded errors, and nothing runs', async () => {
  const llm = await randomChatModel('qwen2.5-7b-instruct');
  const user = [{ role: 'user', content: 'hi' }];
  try {
    const bad = [
      [{ messages: user, frequency_penalty: 1 }, 'argument', /no parameter 'frequency_penalty'/],
      [{ messages: user, n: 2 }, 'argument', /n must be 1/],
      [{ messages: [] }, 'argument', /messages/],
      [{ messages: user, temperature: 'hot' }, 'argument', /temperature/],
      [{ messages: user, max_tokens: -1 }, 'argument', /max_tokens/],
      [{ messages: user, tool_choice: 'required' }, 'argument', /no tools/],
      [{ messages: user, tools: [WEATHER], tool_choice: { type: 'function', function: { name: 'nope' } } }, 'argument', /not one of the tools/],
      [{ messages: user, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { x: { type: 'string', pattern: 'a+' } } } } }] }, 'unsupported', /pattern/],
      [{ messages: user, response_format: { type: 'yaml' } }, 'argument', /response_format/],
      [{ messages: user, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', patternProperties: {} } } } }, 'unsupported', /patternProperties/],
      [{ messages: user, stop: 'x', response_format: { type: 'json_object' } }, 'argument', /stop/],
      [{ messages: user, tools: [WEATHER], tool_choice: 'required', max_tokens: 3 }, 'argument', /max_tokens/],
      [{ messages: [{ role: 'user', content: 'word '.repeat(2000) }] }, 'context_full', /context/],
    ];
    for (const [req, code, re] of bad) {
      await assert.rejects(async () => {
        const s = await llm.chat.completions.create(req);
        for await (const _ of s[Symbol.asyncIterator] ? s : []) { /* drain */ }
      }, (e) => e.code === code && re.test(e.message), JSON.stringify(req).slice(0, 120));
    }
    // streamed, they fail at create(), before any chunk
    await assert.rejects(llm.chat.completions.create({ messages: user, stream: true,
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', pattern: 'a+' } } } }), (e) => e.code === 'unsupported');
    await assert.rejects(llm.chat.completions.create({ messages: [{ role: 'user', content: 'word '.repeat(2000) }], stream: true }),
      (e) => e.code === 'context_full' && e.nCtx === 4096 && e.promptTokens > 4096);
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(llm.chat.completions.create({ messages: user, signal: ac.signal }), (e) => e.code === 'aborted');
  } finally {
    await llm.unload();
  }
  const broken = await MobileLLM.load(makeRandomModel({ shape: 'tiny', nVocab: 400, chatTemplate: '{% for m in messages %}' }), { worker: false });
  try {
    await assert.rejects(broken.chat.completions.create({ messages: user }), (e) => e.code === 'format' && /chat template/.test(e.message));
  } finally {
    await broken.unload();
  }
});

test('tool_choice auto: a reply that starts a call is a call, any other is the text tool_choice none gives', async () => {
  // a third of this vocabulary starts with '{', the opening of a Llama 3.1 call, so sampled replies start calls often
  const userTokens = Array.from({ length: 150 }, (_, i) => `{${i}`);
  const llm = await MobileLLM.load(makeRandomModel({ shape: 'tiny', nVocab: 500, seed: 5, specials: SPECIALS, userTokens,
    chatTemplate: template('llama-3.1-8b-instruct'), nCtx: 4096 }), { worker: false });
  let calls = 0, texts = 0;
  try {
    const messages = [{ role: 'user', content: 'Add 2 and 3.' }];
    for (let seed = 0; seed < 8; seed++) {
      const req = { messages, tools: [ADD], max_tokens: 60, seed, temperature: 1.5 };
      const auto = await llm.chat.completions.create(req);
      const none = await llm.chat.completions.create({ ...req, tool_choice: 'none' });
      if (none.choices[0].message.content.trimStart().startsWith('{')) {
        calls++;
        assert.equal(auto.choices[0].finish_reason, 'tool_calls', `seed ${seed}`);
        const call = auto.choices[0].message.tool_calls[0];
        assert.equal(call.function.name, 'add');
        assert.ok(ajv.compile(ADD.function.parameters)(JSON.parse(call.function.arguments)), call.function.arguments);
      } else {
        texts++;
        assert.deepEqual(auto.choices[0], none.choices[0], `seed ${seed}`);
      }
    }
  } finally {
    await llm.unload();
  }
  assert.ok(calls >= 1 && texts >= 1, `both branches ran (${calls} calls, ${texts} texts)`);
});

test('a second turn reuses the first turn\'s prompt from the KV cache (usage.prompt_tokens_details.cached_tokens)', async () => {
  for (const load of [() => randomChatModel('smollm2-instruct', 4), () => MobileLLM.load(BUNDLED, { worker: false })]) {
    const llm = await load();
    try {
      const messages = [{ role: 'user', content: 'Hello there, how are you today?' }];
      const one = await llm.chat.completions.create({ messages, max_tokens: 8, seed: 2 });
      messages.push(one.choices[0].message, { role: 'user', content: 'Good.' });
      const two = await llm.chat.completions.create({ messages, max_tokens: 8, seed: 2 });
      assert.ok(two.usage.prompt_tokens > one.usage.prompt_tokens);
      assert.ok(two.usage.prompt_tokens_details.cached_tokens >= one.usage.prompt_tokens,
        `turn 2 reused ${two.usage.prompt_tokens_details.cached_tokens} of turn 1's ${one.usage.prompt_tokens} prompt tokens`);
      assert.equal(two.usage.prompt_tokens_details.cached_tokens, llm.lastStats.reusedTokens);
    } finally {
      await llm.unload();
    }
  }
});

test('an R1-shaped checkpoint (llama4, Llama-3 tokenizer) with chat_template.jinja: the converted file chats through its template', async () => {
  const { llama4Checkpoints, scratchDir } = await import('../ref/fixtures.js');
  const { convertSource } = await import('../../worker/index.js');
  const dir = scratchDir('chat-r1');
  try {
    const ckpt = path.join(dir, 'ckpt');
    fs.cpSync(llama4Checkpoints().dir('r1_llama3_pre'), ckpt, { recursive: true });
    // R1's template form: a separate chat_template.jinja (over tokenizer_config.json's), a default
    // reasoning system prompt when the messages bring none, turns closed by <|eot_id|>
    fs.writeFileSync(path.join(ckpt, 'chat_template.jinja'), "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
      + "{% set sys = messages[0]['content'] %}{% set rest = messages[1:] %}{% else %}{% set sys = 'Please reason step by step.' %}"
      + "{% set rest = messages %}{% endif %}system: {{ sys }}<|eot_id|>{% for m in rest %}{{ m['role'] }}: {{ m['content'] }}<|eot_id|>"
      + '{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}');
    const file = path.join(dir, 'r1.gguf');
    await convertSource(ckpt, file, { dtype: 'q8_0' });
    const llm = await MobileLLM.load(file, { worker: false, cache: false });
    try {
      assert.equal(llm.info.architecture, 'llama4');
      assert.equal(llm.info.family, 'other', "the checkpoint's name (random/r1_llama3_pre) is no family's");
      assert.match(llm.info.chatTemplate, /Please reason step by step/);
      const r = await llm.chat.completions.create({ messages: [{ role: 'user', content: 'What is 2+3?' }], max_tokens: 8, temperature: 0 });
      // the rendering, written out by hand: BOS once (the template's), the default system prompt
      const ids = await llm.tokenize('<|begin_of_text|>system: Please reason step by step.<|eot_id|>user: What is 2+3?<|eot_id|>assistant:',
        { parseSpecial: true, addBos: false });
      assert.equal(ids[0], 264, '<|begin_of_text|>');
      assert.equal(ids.filter((t) => t === 266).length, 2, 'two <|eot_id|> control tokens');
      let text = '';
      for await (const t of llm.generate(ids, { maxTokens: 8, temperature: 0 })) text += t.text;
      assert.equal(r.usage.prompt_tokens, ids.length);
      assert.equal(r.choices[0].message.content, text.replace(/^ /, ''));
    } finally {
      await llm.unload();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
