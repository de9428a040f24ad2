// tool_calls.js — how a model writes a tool call, the grammar a call is generated under, and the
// call read back. Three formats, chosen from the chat template:
//   hermes   — the template writes <tool_call> (Qwen2.5, Hermes, SmolLM3):
//              <tool_call>\n{"name": N, "arguments": {...}}\n</tool_call>
//   llama3   — the template writes <|python_tag|> / "parameters" (Llama 3.1-3.3):
//              {"name": N, "parameters": {...}}
//   fallback — a model whose template does not know tools (or has none): the tools are described
//              in the system message (FALLBACK_TOOLS_INTRO) and a call is
//              <tool_call>{"name": N, "arguments": {...}}</tool_call>; earlier calls and tool
//              results are written into the messages in that same form.

import { jsonSchemaToGrammar } from './json_schema_grammar.js';
import { templateHasTools } from './chat_template.js';

/** The system text that describes the tools for the fallback format. */
export const FALLBACK_TOOLS_INTRO = 'You can call these tools (JSON Schema of each one\'s arguments):\n';
export const FALLBACK_TOOLS_OUTRO = '\nTo call one, answer with only <tool_call>{"name": NAME, "arguments": ARGUMENTS}</tool_call>.';

/** @typedef {'hermes'|'llama3'|'fallback'} ToolFormat */

const FORMATS = {
  hermes: { open: '<tool_call>\n', close: '\n</tool_call>', argsKey: 'arguments', marker: '<tool_call>' },
  llama3: { open: '', close: '', argsKey: 'parameters', marker: '{' },
  fallback: { open: '<tool_call>', close: '</tool_call>', argsKey: 'arguments', marker: '<tool_call>' },
};

/** @param {string|null|undefined} template @returns {ToolFormat} */
export function toolFormat(template) {
  if (!templateHasTools(template)) return 'fallback';
  if (template.includes('<tool_call>')) return 'hermes';
  if (template.includes('<|python_tag|>') || template.includes('"parameters"')) return 'llama3';
  return 'fallback';
}

/** The text that starts a call in `format` (a reply beginning with it is a call). @param {ToolFormat} format */
export function callMarker(format) { return FORMATS[format].marker; }

/**
 * For the fallback format: the messages with the tools described in the system message, each
 * earlier call written into its assistant message and each tool result as a user message.
 * @param {any[]} messages normalized messages
 * @param {any[]} tools normalized tools
 */
export function fallbackMessages(messages, tools) {
  const out = messages.map((m) => {
    if (m.role === 'assistant' && m.tool_calls) {
      const calls = m.tool_calls.map((c) => `<tool_call>${JSON.stringify({ name: c.function.name, arguments: c.function.arguments })}</tool_call>`);
      return { role: 'assistant', content: [m.content, ...calls].filter(Boolean).join(' ') };
    }
    if (m.role === 'tool') return { role: 'user', content: `<tool_response>${m.content}</tool_response>` };
    return { ...m };
  });
  if (tools.length) {
    const text = FALLBACK_TOOLS_INTRO + tools.map((t) => JSON.stringify(t.function)).join('\n') + FALLBACK_TOOLS_OUTRO;
    if (out[0]?.role === 'system') out[0] = { ...out[0], content: `${out[0].content}\n\n${text}` };
    else out.unshift({ role: 'system', content: text });
  }
  return out;
}

/**
 * The GBNF grammar of one complete call of one of `tools` in `format`.
 * @param {ToolFormat} format
 * @param {any[]} tools normalized tools the call may choose from (at least one)
 */
export function callGrammar(format, tools) {
  const f = FORMATS[format];
  const alternatives = tools.map((t) => ({
    type: 'object',
    properties: { name: { const: t.function.name }, [f.argsKey]: t.function.parameters },
    required: ['name', f.argsKey],
    additionalProperties: false,
  }));
  const json = jsonSchemaToGrammar(alternatives.length === 1 ? alternatives[0] : { anyOf: alternatives });
  const body = json.replace(/^root ::= /m, 'toolcall-json ::= ');
  const lit = (s) => JSON.stringify(s); // a GBNF literal (the open / close texts are plain ASCII)
  return `root ::= ${[f.open && lit(f.open), 'toolcall-json', f.close && lit(f.close)].filter(Boolean).join(' ')}\n${body}`;
}

/**
 * A generated call as {name, arguments (JSON text)}, or null when `text` is not one complete call.
 * @param {ToolFormat} format
 * @param {string} text
 */
export function parseCall(format, text) {
  const f = FORMATS[format];
  let s = text.trim();
  if (!s.startsWith(f.open.trim()) || !s.endsWith(f.close.trim())) return null;
  s = s.slice(f.open.trim().length, s.length - f.close.trim().length);
  let v;
  try {
    v = JSON.parse(s);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object' || typeof v.name !== 'string' || !v[f.argsKey] || typeof v[f.argsKey] !== 'object') return null;
  return { name: v.name, arguments: JSON.stringify(v[f.argsKey]) };
}
