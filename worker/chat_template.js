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

/** The template's raise_exception(): it refuses these messages (e.g. roles out of order). */
class TemplateRaise extends Error {}

/** Numbers range() may make in one rendering (templates loop over messages, not over millions). */
const MAX_RANGE_ITEMS = 100000;
/** Template nodes one rendering may evaluate: a published template over a long conversation takes
 * tens of thousands; loops nested over the messages of a hostile template stop here. */
const MAX_EVAL_STEPS = 1_000_000;

/** Python's strftime for the directives templates use (Llama 3.2's "%d %b %Y"). @param {Date} d @param {string} fmt */
function strftime(d, fmt) {
  const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const MONTH = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
  const p2 = (n) => String(n).padStart(2, '0');
  return fmt.replace(/%[YmdbBHMS%]/g, (t) => ({
    '%Y': String(d.getFullYear()), '%m': p2(d.getMonth() + 1), '%d': p2(d.getDate()), '%b': MON[d.getMonth()],
    '%B': MONTH[d.getMonth()], '%H': p2(d.getHours()), '%M': p2(d.getMinutes()), '%S': p2(d.getSeconds()), '%%': '%',
  })[t]);
}

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
  const { Template, Environment, Interpreter } = await import('@huggingface/jinja');
  // Every node the interpreter evaluates goes through evaluate(): counting there bounds loops
  // that range() does not make (over messages, strings, lists).
  class BoundedInterpreter extends Interpreter {
    steps = 0;
    /** @param {any} statement @param {any} environment */
    evaluate(statement, environment) {
      if (++this.steps > MAX_EVAL_STEPS) throw new Error(`it took more than ${MAX_EVAL_STEPS} evaluation steps`);
      return super.evaluate(statement, environment);
    }
  }
  let tpl;
  try {
    tpl = new Template(text);
  } catch (e) {
    throw new FormatError(`The chat template cannot be parsed: ${oneLine(e)}.`);
  }
  const render = (vars) => {
    let out;
    try {
      // Template.render's environment, but with a range() that counts (a template from a file
      // must not loop or allocate without bound) and a raise_exception() of our own
      const env = new Environment();
      let budget = MAX_RANGE_ITEMS;
      const globals = {
        true: true, false: false, none: null, True: true, False: false, None: null,
        raise_exception: (msg) => { throw new TemplateRaise(String(msg)); },
        range: (a, b, step = 1) => {
          const [start, stop] = b === undefined ? [0, a] : [a, b];
          if (![start, stop, step].every(Number.isInteger) || step === 0) throw new Error('range() takes integers and a step other than 0');
          const n = Math.max(0, Math.ceil((stop - start) / step));
          if ((budget -= n) < 0) throw new Error(`range() asked for more than ${MAX_RANGE_ITEMS} numbers in one rendering`);
          return Array.from({ length: n }, (_, i) => start + i * step);
        },
        strftime_now: (fmt) => strftime(new Date(), String(fmt)),
      };
      for (const [k, v] of Object.entries({ ...globals, ...vars })) env.set(k, v);
      out = new BoundedInterpreter(env).run(tpl.parsed).value;
    } catch (e) {
      if (e instanceof TemplateRaise) throw new ArgumentError(`The chat template rejected the messages: ${oneLine(e)}.`);
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
