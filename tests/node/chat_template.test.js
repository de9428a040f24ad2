// Chat templates (worker/chat_template.js) rendered by @huggingface/jinja against Python jinja2 set
// up as transformers renders them: five published templates (Llama 3, Llama 3.1 with tools,
// Qwen2.5 with tools, SmolLM2's ChatML, SmolLM3) over six conversations, the references stored
// in tests/ref/chat_templates/expected.json by tests/ref/render_chat_templates.py. Also the
// plain fallback, the converter carrying tokenizer_config.json's template, and bad templates.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { compileTemplate, renderChat, FALLBACK_TEMPLATE, templateHasTools } from '../../worker/chat_template.js';
import { normalizeMessages, normalizeTools } from '../../worker/chat_messages.js';
import { toolFormat } from '../../worker/tool_calls.js';
import { chatTemplate } from '../../models/convert/convert.js';
import { ROOT, python } from '../ref/fixtures.js';

const DIR = path.join(ROOT, 'tests/ref/chat_templates');
const spec = JSON.parse(fs.readFileSync(path.join(DIR, 'cases.json'), 'utf8'));
const expected = JSON.parse(fs.readFileSync(path.join(DIR, 'expected.json'), 'utf8'));
/** Where @huggingface/jinja 0.5.11 differs from jinja2: its str.lstrip(chars) ignores chars and
 * strips all leading whitespace (SmolLM3 writes assistant turns with content.lstrip("\n")). */
const KNOWN_DIVERGENCE = {
  'smollm3-3b / several turns without a system message': ['<|im_start|>assistant\n  Hi!', '<|im_start|>assistant\nHi!'],
};
const source = (name) => fs.readFileSync(path.join(DIR, `${name}.jinja`), 'utf8');

test('the stored references are what Python jinja2 renders now (the fixture script reproduces them)', () => {
  const tmp = fs.mkdtempSync(path.join(ROOT, 'build/chat-tpl-'));
  try {
    // the script writes beside cases.json: run it on a copy of the directory
    fs.cpSync(DIR, tmp, { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'tests/ref/render_chat_templates.py'), path.join(tmp, 'render.py'));
    const script = fs.readFileSync(path.join(tmp, 'render.py'), 'utf8').replace("'chat_templates')", "'.')");
    fs.writeFileSync(path.join(tmp, 'render.py'), script);
    python([path.join(tmp, 'render.py')]);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(tmp, 'expected.json'), 'utf8')), expected);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

for (const [name, tokens] of Object.entries(spec.templates)) {
  test(`${name}: every conversation renders exactly as Python jinja2 renders it`, async () => {
    const tpl = await compileTemplate(source(name));
    const info = { chatTemplate: source(name), bosText: tokens.bos_token, eosText: tokens.eos_token };
    let rendered = 0;
    for (const c of spec.cases) {
      const want = expected[name][c.name];
      const run = () => renderChat(info, normalizeMessages(c.messages), { template: tpl, tools: normalizeTools(c.tools), addGenerationPrompt: c.add_generation_prompt });
      if (want.error) {
        await assert.rejects(run, (e) => e.code === 'argument' && e.message.includes(want.error), `${name} / ${c.name}`);
      } else if (KNOWN_DIVERGENCE[`${name} / ${c.name}`]) {
        // still diverging, by exactly the known difference (fixed upstream: drop the entry)
        const [from, to] = KNOWN_DIVERGENCE[`${name} / ${c.name}`];
        const got = await run();
        assert.notEqual(got, want.text);
        assert.equal(got, want.text.replace(from, to), `${name} / ${c.name}`);
      } else {
        assert.equal(await run(), want.text, `${name} / ${c.name}`);
        rendered++;
      }
    }
    assert.ok(rendered >= 5);
  });
}

test('the tool-call format follows the template: hermes for <tool_call>, llama3 for Llama 3.1, else the fallback', () => {
  assert.equal(toolFormat(source('qwen2.5-7b-instruct')), 'hermes');
  assert.equal(toolFormat(source('llama-3.1-8b-instruct')), 'llama3');
  assert.equal(toolFormat(source('llama-3-8b-instruct')), 'fallback');
  assert.equal(toolFormat(source('smollm2-instruct')), 'fallback');
  assert.equal(toolFormat(null), 'fallback');
  assert.equal(templateHasTools(source('llama-3-8b-instruct')), false);
});

test('a model without a template gets the documented plain format', async () => {
  const msgs = normalizeMessages([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello.' }, { role: 'user', content: 'Bye' }]);
  const text = await renderChat({ chatTemplate: null, bosText: '<s>', eosText: '</s>' }, msgs);
  assert.equal(text, 'Be brief.\n\nUser: Hi\nAssistant: Hello.\nUser: Bye\nAssistant:');
  assert.equal((await compileTemplate(null)).source, FALLBACK_TEMPLATE);
});

test('strftime_now and range behave as in Python (Llama 3.2 dates its system message with strftime_now)', async () => {
  const tpl = await compileTemplate('{{ strftime_now("%d %b %Y") }}|{{ range(3) | join(",") }}|{{ range(5, 0, -2) | join(",") }}|{{ range(2, 4) | join(",") }}');
  const got = await renderChat({}, normalizeMessages([{ role: 'user', content: 'x' }]), { template: tpl });
  const py = python(['-c', 'import datetime; print(datetime.datetime.now().strftime("%d %b %Y") + "|" + ",".join(map(str, range(3))) + "|" '
    + '+ ",".join(map(str, range(5, 0, -2))) + "|" + ",".join(map(str, range(2, 4))))']).trim();
  assert.equal(got, py);
});

test('the converter carries tokenizer_config.json\'s chat_template (a string, or the default of named ones)', () => {
  assert.equal(chatTemplate(undefined), null);
  assert.equal(chatTemplate('{{ x }}'), '{{ x }}');
  assert.equal(chatTemplate([{ name: 'tool_use', template: 'T' }, { name: 'default', template: 'D' }]), 'D');
  assert.equal(chatTemplate([{ name: 'tool_use', template: 'T' }]), null);
  assert.throws(() => chatTemplate(42), (e) => e.code === 'format' && /chat_template/.test(e.message));
});

test('bad templates and messages are coded errors', async () => {
  await assert.rejects(compileTemplate('{% for %}'), (e) => e.code === 'format' && /cannot be parsed/.test(e.message));
  const raising = await compileTemplate('{{ raise_exception("Conversation roles must alternate") }}');
  await assert.rejects(renderChat({}, normalizeMessages([{ role: 'user', content: 'x' }]), { template: raising }),
    (e) => e.code === 'argument' && /roles must alternate/.test(e.message));
  // a template that would loop or allocate without bound stops with an error
  const user = normalizeMessages([{ role: 'user', content: 'x' }]);
  for (const bomb of ['{% for i in range(1000000000) %}x{% endfor %}', '{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}']) {
    await assert.rejects(renderChat({}, user, { template: await compileTemplate(bomb) }), (e) => e.code === 'format' && /range\(\)/.test(e.message));
  }
  // loops without range(): three deep over 200 messages (8 million iterations) stop at the step bound
  const many = normalizeMessages(Array.from({ length: 200 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: 'x' })));
  const nested = await compileTemplate('{% for a in messages %}{% for b in messages %}{% for c in messages %}.{% endfor %}{% endfor %}{% endfor %}');
  const t0 = performance.now();
  await assert.rejects(renderChat({}, many, { template: nested }), (e) => e.code === 'format' && /more than 1000000 evaluation steps/.test(e.message));
  assert.ok(performance.now() - t0 < 30000, 'stopped by the step bound, not by finishing');
  // the same conversation through a real template stays far inside the bound
  const chatml = await compileTemplate("{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}");
  assert.equal((await renderChat({}, many, { template: chatml })).split('<|im_start|>').length, 202);
  for (const bad of [[], [{ role: 'wizard', content: 'x' }], [{ role: 'user', content: 5 }], [{ role: 'user', content: [{ type: 'image_url' }] }],
    [{ role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{oops' } }] }], 'hello']) {
    assert.throws(() => normalizeMessages(bad), (e) => e.code === 'argument', JSON.stringify(bad));
  }
  for (const bad of [{}, [{ type: 'function' }], [{ type: 'function', function: { name: 'a b' } }],
    [{ type: 'function', function: { name: 'f' } }, { type: 'function', function: { name: 'f' } }],
    [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { x: { type: 'strin' } } } } }],
    [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { x: { pattern: '^a+$' } } } } }]]) {
    assert.throws(() => normalizeTools(bad), (e) => e.code === 'argument' || e.code === 'unsupported', JSON.stringify(bad));
  }
});

test('a converted checkpoint carries its chat template (chat_template.jinja over tokenizer_config.json over chat_template.json) into the model info', async () => {
  const { checkpoints, scratchDir } = await import('../ref/fixtures.js');
  const { convertSource, MobileLLM } = await import('../../worker/index.js');
  const dir = scratchDir('chat-template-convert');
  try {
    const ckpt = path.join(dir, 'ckpt');
    fs.cpSync(checkpoints().dir('tied_mha_f16'), ckpt, { recursive: true });
    const cfgPath = path.join(ckpt, 'tokenizer_config.json');
    const cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8'));
    const info = async (name) => {
      await convertSource(ckpt, path.join(dir, name), { dtype: 'f32' });
      const llm = await MobileLLM.load(path.join(dir, name), { worker: false, cache: false });
      try { return llm.info; } finally { await llm.unload(); }
    };
    assert.equal((await info('none.gguf')).chatTemplate, null);
    fs.writeFileSync(cfgPath, JSON.stringify({ ...cfg, chat_template: source('llama-3-8b-instruct') }));
    const a = await info('config.gguf');
    assert.equal(a.chatTemplate, source('llama-3-8b-instruct'));
    assert.deepEqual([a.bosText, a.eosText], ['<s>', '</s>']);
    fs.writeFileSync(path.join(ckpt, 'chat_template.jinja'), source('smollm2-instruct'));
    assert.equal((await info('jinja.gguf')).chatTemplate, source('smollm2-instruct'));
    // chat_template.json, the processors' file ({"chat_template": ...}): read after the other two
    fs.writeFileSync(path.join(ckpt, 'chat_template.json'), JSON.stringify({ chat_template: source('qwen2.5-7b-instruct') }));
    assert.equal((await info('jinja-and-json.gguf')).chatTemplate, source('smollm2-instruct'), 'chat_template.jinja wins');
    fs.rmSync(path.join(ckpt, 'chat_template.jinja'));
    assert.equal((await info('config-and-json.gguf')).chatTemplate, source('llama-3-8b-instruct'), "tokenizer_config.json's wins");
    fs.writeFileSync(cfgPath, JSON.stringify(cfg));
    assert.equal((await info('json.gguf')).chatTemplate, source('qwen2.5-7b-instruct'), 'chat_template.json alone');
    fs.writeFileSync(path.join(ckpt, 'chat_template.json'), JSON.stringify([source('qwen2.5-7b-instruct')]));
    await assert.rejects(info('bad.gguf'), (e) => e.code === 'format' && /^chat_template\.json is \[/.test(e.message) && /not an object with a chat_template\.$/.test(e.message));
    fs.writeFileSync(path.join(ckpt, 'chat_template.json'), JSON.stringify({ chat_template: 7 }));
    await assert.rejects(info('bad.gguf'), (e) => e.code === 'format' && /chat_template\.json chat_template is/.test(e.message));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
