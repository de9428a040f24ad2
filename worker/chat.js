// chat.js — llm.chat.completions.create(): OpenAI's chat completion API over generate(). A request
// is rendered with the model's chat template (chat_template.js), tokenized with its special
// tokens, and generated from token ids, so generate's prompt cache sees each turn's prompt
// extend the last one. response_format runs under generate's jsonSchema; a tool call under the
// grammar of the tools' parameters (tool_calls.js). One call per reply at most.

import { ArgumentError, ContextFullError, InternalError } from './errors.js';
import { checkOptions, GENERATE_OPTIONS } from './options.js';
import { jsonSchemaToGrammar } from './json_schema_grammar.js';
import { compileTemplate, renderChat, FALLBACK_STOP } from './chat_template.js';
import { normalizeMessages, normalizeTools } from './chat_messages.js';
import { toolFormat, callMarker, callGrammar, fallbackMessages, parseCall } from './tool_calls.js';

/** Request keys create() reads; any other is an 'argument' error. */
const PARAMS = new Set(['messages', 'model', 'stream', 'stream_options', 'max_tokens', 'max_completion_tokens', 'temperature',
  'top_p', 'top_k', 'seed', 'stop', 'response_format', 'tools', 'tool_choice', 'parallel_tool_calls', 'n', 'signal', 'wait',
  'chat_template_kwargs']);

/** @typedef {{info: any, lastStats: any, tokenize: Function, generate: Function}} ChatModel the MobileLLM a chat runs on */

const FINISH = { eos: 'stop', stop: 'stop', length: 'length', context_full: 'length', aborted: 'stop' };

/**
 * The `chat` namespace of a model: chat.completions.create().
 * @param {ChatModel} llm
 */
export function chatApi(llm) {
  return Object.freeze({ completions: Object.freeze({ create: (params) => create(llm, params) }) });
}

/**
 * A chat completion, or with `stream: true` an async iterable of chunks (the last carries usage).
 * @param {ChatModel} llm
 * @param {Record<string, any>} params
 */
async function create(llm, params) {
  const plan = await prepare(llm, params);
  if (params.stream) return stream(llm, plan);
  let content = '';
  const it = run(llm, plan);
  let r;
  while (!(r = await it.next()).done) content += r.value;
  const end = r.value;
  const message = { role: 'assistant', content: end.toolCall ? null : content };
  if (end.toolCall) message.tool_calls = [end.toolCall];
  return {
    id: plan.id, object: 'chat.completion', created: plan.created, model: plan.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: end.finishReason }],
    usage: end.usage,
  };
}

/** @param {ChatModel} llm @param {Awaited<ReturnType<typeof prepare>>} plan */
async function* stream(llm, plan) {
  const chunk = (delta, finish = null) => ({
    id: plan.id, object: 'chat.completion.chunk', created: plan.created, model: plan.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  yield chunk({ role: 'assistant', content: '' });
  const it = run(llm, plan);
  let r;
  while (!(r = await it.next()).done) if (r.value) yield chunk({ content: r.value });
  const end = r.value;
  if (end.toolCall) yield chunk({ tool_calls: [{ index: 0, ...end.toolCall }] });
  yield chunk({}, end.finishReason);
  yield { id: plan.id, object: 'chat.completion.chunk', created: plan.created, model: plan.model, choices: [], usage: end.usage };
}

/**
 * Check a request and render its prompt.
 * @param {ChatModel} llm
 * @param {Record<string, any>} p
 */
async function prepare(llm, p) {
  if (!p || typeof p !== 'object') throw new ArgumentError('chat.completions.create() takes its request as an object.');
  for (const k of Object.keys(p)) if (!PARAMS.has(k)) throw new ArgumentError(`chat.completions.create() has no parameter '${k}'.`);
  if (p.n !== undefined && p.n !== 1) throw new ArgumentError('n must be 1: one choice per request.');
  if (p.stream !== undefined && typeof p.stream !== 'boolean') throw new ArgumentError('stream must be true or false.');
  if (p.max_tokens !== undefined && p.max_completion_tokens !== undefined) throw new ArgumentError('Give max_tokens or max_completion_tokens, not both.');
  const info = llm.info;
  const tools = normalizeTools(p.tools);
  const choice = toolChoice(p.tool_choice, tools);
  const format = toolFormat(info.chatTemplate);
  let messages = normalizeMessages(p.messages);
  if (format === 'fallback' && (tools.length || messages.some((m) => m.role === 'tool' || m.tool_calls))) {
    messages = fallbackMessages(messages, choice === 'none' ? [] : tools);
  }
  const kwargs = p.chat_template_kwargs ?? {};
  if (typeof kwargs !== 'object' || Array.isArray(kwargs)) throw new ArgumentError('chat_template_kwargs must be an object.');

  const gen = {
    maxTokens: p.max_tokens ?? p.max_completion_tokens ?? 0, temperature: p.temperature, topP: p.top_p, topK: p.top_k, seed: p.seed,
  };
  for (const k of Object.keys(gen)) if (gen[k] === undefined || gen[k] === null) delete gen[k];
  const names = { maxTokens: p.max_tokens !== undefined ? 'max_tokens' : 'max_completion_tokens', temperature: 'temperature', topP: 'top_p', topK: 'top_k', seed: 'seed' };
  try {
    checkOptions(gen, GENERATE_OPTIONS);
  } catch (e) {
    e.message = e.message.replace(/\b(maxTokens|topP|topK)\b/g, (m) => names[m]);
    throw e;
  }
  const stop = p.stop === undefined || p.stop === null ? [] : typeof p.stop === 'string' ? [p.stop] : p.stop;
  if (!Array.isArray(stop) || !stop.every((s) => typeof s === 'string' && s.length > 0) || stop.length > 4) {
    throw new ArgumentError('stop must be a non-empty string or an array of up to 4 of them.');
  }
  const jsonSchema = responseSchema(p.response_format);
  if (jsonSchema !== undefined && stop.length) throw new ArgumentError('stop cannot be combined with a JSON response_format, which decides where the reply ends.');
  if (jsonSchema !== undefined && choice !== 'none' && tools.length) throw new ArgumentError('Give response_format or tools, not both.');
  if (jsonSchema !== undefined) jsonSchemaToGrammar(jsonSchema); // a schema the grammar cannot express fails here, before any work

  // Everything checked: render and tokenize.
  const template = await compileTemplate(info.chatTemplate);
  const text = await renderChat(info, messages, { template, kwargs, tools: format === 'fallback' ? null : tools });
  // The template writes BOS itself where the model wants one (Llama 3's {{ bos_token }}).
  const addBos = info.addBos && !(info.bosText && text.startsWith(info.bosText));
  const ids = Array.from(await llm.tokenize(text, { addBos, parseSpecial: true }));
  if (ids.length >= info.nCtx) {
    throw new ContextFullError(`The chat prompt is ${ids.length} tokens but the context holds ${info.nCtx}, which leaves no room to reply.`,
      { promptTokens: ids.length, nCtx: info.nCtx });
  }
  const id = `chatcmpl-${Array.from({ length: 24 }, () => Math.floor(Math.random() * 16).toString(16)).join('')}`;
  return {
    id, created: Math.floor(Date.now() / 1000), model: typeof p.model === 'string' ? p.model : (info.name ?? 'mobilellm'),
    ids, gen, stop: [...stop, ...(info.chatTemplate == null ? FALLBACK_STOP : [])],
    jsonSchema, tools, choice, format, signal: p.signal, wait: !!p.wait, fallback: template.fallback,
  };
}

/** tool_choice as 'none' | 'auto' | 'required' | a tool name. */
function toolChoice(c, tools) {
  if (c === undefined || c === null) return tools.length ? 'auto' : 'none';
  if (c === 'none' || c === 'auto' || c === 'required') {
    if (c === 'required' && !tools.length) throw new ArgumentError('tool_choice is \'required\' but no tools were given.');
    return c;
  }
  const name = c?.type === 'function' ? c.function?.name : undefined;
  if (typeof name !== 'string') throw new ArgumentError('tool_choice must be \'none\', \'auto\', \'required\' or {type: \'function\', function: {name}}.');
  if (!tools.some((t) => t.function.name === name)) throw new ArgumentError(`tool_choice names '${name}', which is not one of the tools.`);
  return { name };
}

/** response_format as a JSON Schema for generate, or undefined for text. */
function responseSchema(rf) {
  if (rf === undefined || rf === null) return undefined;
  if (rf.type === 'text') return undefined;
  if (rf.type === 'json_object') return { type: 'object' };
  if (rf.type === 'json_schema') {
    const s = rf.json_schema?.schema;
    if (!rf.json_schema || typeof rf.json_schema !== 'object' || (s !== undefined && (typeof s !== 'object' && typeof s !== 'boolean'))) {
      throw new ArgumentError('response_format json_schema must be {name, schema}.');
    }
    return s ?? {};
  }
  throw new ArgumentError('response_format.type must be \'text\', \'json_object\' or \'json_schema\'.');
}

/**
 * The reply: yields content text as it is made; returns {finishReason, toolCall, usage}.
 * @param {ChatModel} llm
 * @param {any} plan
 */
async function* run(llm, plan) {
  const base = { ...plan.gen, signal: plan.signal, wait: plan.wait };
  const forced = plan.choice === 'required' || typeof plan.choice === 'object';
  if (plan.tools.length && plan.choice !== 'none') {
    if (!forced) {
      // auto: the model writes freely; a reply that starts with the call marker becomes a call
      const marker = callMarker(plan.format);
      const lead = (s) => (plan.fallback ? s.replace(/^ /, '') : s);
      let held = '';
      let free = false;
      for await (const t of llm.generate(plan.ids, { ...base, stop: plan.stop })) {
        if (free) { if (t.text) yield t.text; continue; }
        held += t.text;
        const head = held.trimStart();
        if (head.startsWith(marker)) break; // a call: made again below under its grammar
        if (!marker.startsWith(head)) { free = true; yield lead(held); }
      }
      if (free || !held.trimStart().startsWith(marker)) {
        if (!free && held) yield lead(held);
        return finish(llm, plan, null);
      }
    }
    const names = typeof plan.choice === 'object' ? [plan.choice.name] : plan.tools.map((t) => t.function.name);
    const grammar = callGrammar(plan.format, plan.tools.filter((t) => names.includes(t.function.name)));
    let text = '';
    for await (const t of llm.generate(plan.ids, { ...base, grammar })) text += t.text;
    const stats = llm.lastStats;
    const call = parseCall(plan.format, text);
    if (stats?.stopReason === 'context_full' || !call) {
      if (stats?.stopReason === 'context_full' || stats?.stopReason === 'length') {
        throw new ContextFullError(`The tool call did not fit in the context of ${llm.info.nCtx} tokens.`,
          { promptTokens: plan.ids.length, nCtx: llm.info.nCtx });
      }
      throw new InternalError('The generated tool call could not be read back.');
    }
    const id = `call_${Array.from({ length: 16 }, () => Math.floor(Math.random() * 16).toString(16)).join('')}`;
    return finish(llm, plan, { id, type: 'function', function: call });
  }
  const opts = plan.jsonSchema !== undefined ? { ...base, jsonSchema: plan.jsonSchema } : { ...base, stop: plan.stop };
  let first = plan.fallback; // the plain format writes "Assistant: TEXT": the reply's leading space is the template's
  for await (const t of llm.generate(plan.ids, opts)) {
    const text = first ? t.text.replace(/^ /, '') : t.text;
    if (t.text) first = false;
    if (text) yield text;
  }
  if (plan.jsonSchema !== undefined && llm.lastStats?.stopReason === 'context_full') {
    throw new ContextFullError(`The JSON reply did not fit in the context of ${llm.info.nCtx} tokens.`,
      { promptTokens: plan.ids.length, nCtx: llm.info.nCtx });
  }
  return finish(llm, plan, null);
}

/** The end of a reply: finish_reason and usage from generate's stats. */
function finish(llm, plan, toolCall) {
  const s = llm.lastStats ?? {};
  const completion = s.generatedTokens ?? 0;
  const usage = { prompt_tokens: plan.ids.length, completion_tokens: completion, total_tokens: plan.ids.length + completion };
  if (typeof s.reusedTokens === 'number') usage.prompt_tokens_details = { cached_tokens: s.reusedTokens };
  return { finishReason: toolCall ? 'tool_calls' : (FINISH[s.stopReason] ?? 'stop'), toolCall, usage };
}
