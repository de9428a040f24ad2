// chat_template.js — a conversation as prompt text: the model's own chat template (GGUF
// tokenizer.chat_template, rendered with @huggingface/jinja as transformers renders it: trim and
// lstrip blocks, the variables messages, add_generation_prompt, bos_token, eos_token, tools), or,
// for a model without one (base MobileLLM, the bundled model), FALLBACK_TEMPLATE.

import { ArgumentError, FormatError } from './errors.js';

/**
 * The plain fallback for models without a template: the system text, then "User: …" and
 * "Assistant: …" lines, ending in "Assistant:" for the reply; tool results are "Tool: …" lines
 * (tool_calls.js writes calls and results into the messages for models without tool support).
 * A base model does not end its turn with EOS, so generation also stops at FALLBACK_STOP.
 */
export const FALLBACK_TEMPLATE = [
  '{% for m in messages %}',
  '{% if m.role == "system" %}{{ m.content }}\n\n',
  '{% elif m.role == "user" %}User: {{ m.content }}\n',
  '{% elif m.role == "assistant" %}Assistant: {{ m.content }}\n',
  '{% elif m.role == "tool" %}Tool: {{ m.content }}\n',
  '{% endif %}{% endfor %}',
  '{% if add_generation_prompt %}Assistant:{% endif %}',
].join('');

/** Where a reply in the fallback format ends (the model starting the user's next line). */
export const FALLBACK_STOP = ['\nUser:'];

/** Most characters of a template, and of a rendered prompt (a 4096-token context holds far fewer). */
const MAX_TEMPLATE_CHARS = 1 << 20;
const MAX_PROMPT_CHARS = 1 << 24;

/**
 * A parsed chat template, ready to render.
 * @param {string|null|undefined} source the model's template, or null for FALLBACK_TEMPLATE
 * @returns {Promise<{source: string, fallback: boolean, render: (vars: Record<string, any>) => string}>}
 */
export async function compileTemplate(source) {
  const fallback = source === null || source === undefined || source === '';
  const text = fallback ? FALLBACK_TEMPLATE : source;
  if (typeof text !== 'string') throw new ArgumentError('A chat template must be a string.');
  if (text.length > MAX_TEMPLATE_CHARS) throw new FormatError(`The chat template is ${text.length} characters, more than the ${MAX_TEMPLATE_CHARS} allowed.`);
  // imported on first use: the demo page maps this name in its import map
  const { Template } = await import('@huggingface/jinja');
  let tpl;
  try {
    tpl = new Template(text);
  } catch (e) {
    throw new FormatError(`The chat template cannot be parsed: ${oneLine(e)}.`);
  }
  const render = (vars) => {
    let out;
    try {
      out = tpl.render(vars);
    } catch (e) {
      // a plain Error is raise_exception(): the template refusing these messages (e.g. roles out of order)
      if (e?.constructor === Error) {
        throw new ArgumentError(`The chat template rejected the messages: ${oneLine(e)}.`);
      }
      throw new FormatError(`The chat template failed to render: ${oneLine(e)}.`);
    }
    if (typeof out !== 'string') throw new FormatError('The chat template did not render to text.');
    if (out.length > MAX_PROMPT_CHARS) throw new ArgumentError(`The rendered chat prompt is ${out.length} characters, more than the ${MAX_PROMPT_CHARS} allowed.`);
    return out;
  };
  return { source: text, fallback, render };
}

/**
 * Render a conversation for `info` (a model's info: chatTemplate, bosText, eosText).
 * @param {{chatTemplate?: string|null, bosText?: string|null, eosText?: string|null}} info
 * @param {any[]} messages normalized messages (chat_messages.js)
 * @param {{tools?: any[]|null, addGenerationPrompt?: boolean, template?: Awaited<ReturnType<typeof compileTemplate>>, kwargs?: Record<string, any>}} [o]
 * @returns {Promise<string>}
 */
export async function renderChat(info, messages, o = {}) {
  const tpl = o.template ?? await compileTemplate(info.chatTemplate);
  return tpl.render({
    ...(o.kwargs ?? {}),
    messages,
    add_generation_prompt: o.addGenerationPrompt ?? true,
    bos_token: info.bosText ?? '',
    eos_token: info.eosText ?? '',
    ...(o.tools?.length ? { tools: o.tools } : {}),
  });
}

/** Whether a template renders `tools` itself (it names the variable). @param {string|null|undefined} source */
export function templateHasTools(source) {
  return typeof source === 'string' && /\btools\b/.test(source);
}

/** An error's message on one line, without a trailing period. @param {any} e */
function oneLine(e) {
  return String(e?.message ?? e).replace(/\s+/g, ' ').trim().replace(/\.$/, '').slice(0, 300);
}
