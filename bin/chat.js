// chat.js — `mobilellm chat`: an interactive terminal chat over llm.chat.completions.create(). Each
// line read is a user turn; the reply streams to stdout; the history is kept, and generate's
// prompt cache evaluates only what each turn adds. EOF (Ctrl-D) ends it; Ctrl-C stops a reply,
// or at the prompt ends the chat. With stdin not a terminal, no prompt is shown: lines in,
// one reply line out per turn.

import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MobileLLM } from '../worker/index.js';
import { ArgumentError } from '../worker/errors.js';
import { terminalWriter } from './terminal.js';

const DEFAULT_MODEL = fileURLToPath(new URL('../models/default.gguf', import.meta.url));

export const CHAT_USAGE = 'mobilellm chat [-m MODEL] [--system TEXT] [-n N] [--temp T] [--top-p P] [--seed S] [--ctx N] [--raw]';

/**
 * @param {string[]} argv
 * @param {{parseArgs: Function, num: Function}} cli the CLI's option parsers (bin/mobilellm.js)
 */
export async function cmdChat(argv, { parseArgs, num }) {
  const { opts, rest } = parseArgs(argv, { '-m': 'value', '--system': 'value', '-n': 'value', '--temp': 'value',
    '--top-p': 'value', '--seed': 'value', '--ctx': 'value', '--raw': 'bool' });
  if (rest.length) throw new ArgumentError(`chat takes no positional arguments (got '${rest[0]}'); usage: ${CHAT_USAGE}`);
  const request = {
    max_tokens: num(opts, '-n', 'maxTokens', 256), temperature: num(opts, '--temp', 'temperature', undefined),
    top_p: num(opts, '--top-p', 'topP', undefined), seed: num(opts, '--seed', 'seed', undefined),
  };
  const nCtx = num(opts, '--ctx', 'nCtx', undefined);
  const tty = process.stdin.isTTY === true;
  const write = terminalWriter(process.stdout, !!opts['--raw']);
  const llm = await MobileLLM.load(opts['-m'] ?? DEFAULT_MODEL, { ...(nCtx ? { nCtx } : {}) });
  const messages = opts['--system'] ? [{ role: 'system', content: opts['--system'] }] : [];
  const rl = readline.createInterface({ input: process.stdin, output: tty ? process.stdout : undefined, terminal: tty });
  /** @type {AbortController|null} */
  let replying = null;
  rl.on('SIGINT', () => { if (replying) replying.abort(); else rl.close(); });
  try {
    if (tty) { rl.setPrompt('> '); rl.prompt(); }
    for await (const line of rl) {
      if (line.trim()) {
        messages.push({ role: 'user', content: line });
        replying = new AbortController();
        let reply = '';
        try {
          const stream = await llm.chat.completions.create({ ...request, messages, stream: true, signal: replying.signal });
          for await (const c of stream) {
            const d = c.choices[0]?.delta?.content;
            if (d) { reply += d; write(d); }
          }
        } catch (e) {
          if (e?.code !== 'aborted') throw e;
        } finally {
          replying = null;
        }
        process.stdout.write('\n');
        messages.push({ role: 'assistant', content: reply });
      }
      if (tty) rl.prompt();
    }
  } finally {
    rl.close();
    await llm.unload();
  }
}
