// chat_messages.js — an OpenAI-shaped request's messages and tools checked and put in the form
// chat templates read: content as one string, assistant tool calls with their arguments as
// objects (templates write them with `| tojson`), tools as {type: 'function', function}.

import { ArgumentError } from './errors.js';
import { jsonSchemaToGrammar } from './json_schema_grammar.js';

/** Most messages in one request, and tools. */
export const MAX_MESSAGES = 100000;
export const MAX_TOOLS = 128;
const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);
/** OpenAI's rule for function names. */
const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * @param {unknown} messages
 * @returns {{role: string, content: string, tool_calls?: any[], tool_call_id?: string, name?: string}[]}
 */
export function normalizeMessages(messages) {
  if (!Array.isArray(messages) || messages.length === 0) throw new ArgumentError('messages must be a non-empty array of {role, content} objects.');
  if (messages.length > MAX_MESSAGES) throw new ArgumentError(`messages holds ${messages.length} messages, more than the ${MAX_MESSAGES} allowed.`);
  return messages.map((m, i) => {
    if (!m || typeof m !== 'object') throw new ArgumentError(`messages[${i}] is not an object.`);
    if (!ROLES.has(m.role)) throw new ArgumentError(`messages[${i}].role must be one of system, developer, user, assistant, tool, not ${JSON.stringify(m.role) ?? 'undefined'}.`);
    const role = m.role === 'developer' ? 'system' : m.role;
    const out = { role, content: contentText(m.content, i, role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0) };
    if (m.tool_calls !== undefined && m.tool_calls !== null) {
      if (role !== 'assistant') throw new ArgumentError(`messages[${i}] has tool_calls but only assistant messages may.`);
      if (!Array.isArray(m.tool_calls)) throw new ArgumentError(`messages[${i}].tool_calls must be an array.`);
      if (m.tool_calls.length) out.tool_calls = m.tool_calls.map((c, j) => toolCall(c, `messages[${i}].tool_calls[${j}]`));
    }
    if (role === 'tool') {
      if (m.tool_call_id !== undefined && typeof m.tool_call_id !== 'string') throw new ArgumentError(`messages[${i}].tool_call_id must be a string.`);
      if (m.tool_call_id !== undefined) out.tool_call_id = m.tool_call_id;
    }
    if (typeof m.name === 'string') out.name = m.name;
    return out;
  });
}

/** A message's content as text: a string, null (an assistant message that only calls tools) or text parts. */
function contentText(c, i, mayBeEmpty) {
  if (typeof c === 'string') return c;
  if ((c === null || c === undefined) && mayBeEmpty) return '';
  if (Array.isArray(c)) {
    return c.map((p, j) => {
      if (p && typeof p === 'object' && p.type === 'text' && typeof p.text === 'string') return p.text;
      throw new ArgumentError(`messages[${i}].content[${j}] is not a {type: 'text', text} part (this model reads text only).`);
    }).join('');
  }
  throw new ArgumentError(`messages[${i}].content must be a string or an array of text parts.`);
}

/** An assistant message's tool call, with `arguments` as an object. */
function toolCall(c, where) {
  const f = c?.function;
  if (!f || typeof f !== 'object' || typeof f.name !== 'string') throw new ArgumentError(`${where} must be {type: 'function', function: {name, arguments}}.`);
  let args = f.arguments ?? {};
  if (typeof args === 'string') {
    try {
      args = JSON.parse(args);
    } catch {
      throw new ArgumentError(`${where}.function.arguments is not valid JSON text.`);
    }
  }
  if (!args || typeof args !== 'object' || Array.isArray(args)) throw new ArgumentError(`${where}.function.arguments must be a JSON object.`);
  return { ...(typeof c.id === 'string' ? { id: c.id } : {}), type: 'function', function: { name: f.name, arguments: args } };
}

/**
 * Tools in OpenAI's function form, each parameters schema checked by compiling its grammar.
 * @param {unknown} tools
 * @returns {{type: 'function', function: {name: string, description?: string, parameters: object}}[]}
 */
export function normalizeTools(tools) {
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) throw new ArgumentError('tools must be an array of {type: \'function\', function: {name, description?, parameters?}}.');
  if (tools.length > MAX_TOOLS) throw new ArgumentError(`tools holds ${tools.length} tools, more than the ${MAX_TOOLS} allowed.`);
  const names = new Set();
  return tools.map((t, i) => {
    const f = t?.function;
    if (!t || t.type !== 'function' || !f || typeof f !== 'object') throw new ArgumentError(`tools[${i}] must be {type: 'function', function: {name, description?, parameters?}}.`);
    if (typeof f.name !== 'string' || !TOOL_NAME.test(f.name)) throw new ArgumentError(`tools[${i}].function.name must be 1 to 64 letters, digits, '_' or '-'.`);
    if (names.has(f.name)) throw new ArgumentError(`tools[${i}] repeats the name '${f.name}'.`);
    names.add(f.name);
    if (f.description !== undefined && typeof f.description !== 'string') throw new ArgumentError(`tools[${i}].function.description must be a string.`);
    const parameters = f.parameters ?? { type: 'object', properties: {} };
    if (!parameters || typeof parameters !== 'object' || Array.isArray(parameters) || (parameters.type !== undefined && parameters.type !== 'object')) {
      throw new ArgumentError(`tools[${i}].function.parameters must be a JSON Schema of an object.`);
    }
    try {
      jsonSchemaToGrammar(parameters);
    } catch (e) {
      e.message = `tools[${i}] ('${f.name}') parameters: ${e.message}`;
      throw e;
    }
    return { type: 'function', function: { name: f.name, ...(f.description !== undefined ? { description: f.description } : {}), parameters } };
  });
}
