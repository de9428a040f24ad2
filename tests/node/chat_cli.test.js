// `mobilellm chat` (bin/chat.js): lines on stdin are user turns; each reply streams to stdout on
// its own line and equals llm.chat.completions.create() for the conversation so far; EOF ends
// the chat with status 0; a bad option is a usage error (status 2).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

import { MobileLLM } from '../../worker/index.js';
import { ROOT } from '../ref/fixtures.js';

const CLI = path.join(ROOT, 'bin/mobilellm.js');
const MODEL = path.join(ROOT, 'models/default.gguf');

const run = (args, input) => spawnSync(process.execPath, [CLI, 'chat', ...args], { input, encoding: 'utf8', timeout: 120000 });

test('each line is a turn; the replies are the API\'s for the growing conversation', async () => {
  const system = 'You are a storyteller.';
  const turns = ['Tell me about the king.', 'And his daughter?'];
  const r = run(['-m', MODEL, '--system', system, '-n', '10', '--seed', '4', '--temp', '0.7'], turns.join('\n') + '\n');
  assert.equal(r.status, 0, r.stderr);
  const llm = await MobileLLM.load(MODEL, { worker: false });
  const want = [];
  try {
    const messages = [{ role: 'system', content: system }];
    for (const t of turns) {
      messages.push({ role: 'user', content: t });
      const c = await llm.chat.completions.create({ messages, max_tokens: 10, seed: 4, temperature: 0.7 });
      want.push(c.choices[0].message.content);
      messages.push({ role: 'assistant', content: c.choices[0].message.content });
    }
  } finally {
    await llm.unload();
  }
  assert.ok(want.every((w) => w.length > 0), JSON.stringify(want));
  assert.equal(r.stdout, want.map((w) => `${w}\n`).join(''));
});

test('EOF at once ends the chat cleanly; a bad option is a usage error', () => {
  const r = run(['-m', MODEL], '');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  const bad = run(['-m', MODEL, '--temp', 'hot'], '');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^mobilellm: .*temp.*\.\n$/);
  const extra = run(['-m', MODEL, 'hello'], '');
  assert.equal(extra.status, 2);
  assert.match(extra.stderr, /chat takes no positional arguments/);
});
