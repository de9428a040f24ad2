// index.js — the package entry: the MobileLLM class (mobilellm.js), its errors (errors.js), the
// option tables (options.js), JSON Schema → GBNF (json_schema_grammar.js) and the Node helpers
// behind the CLI (node_api.js). Types: index.d.ts.
//
//   import { MobileLLM } from 'mobilellm-wasm';
//   const llm = await MobileLLM.load('facebook/MobileLLM-125M', { onProgress });
//   for await (const { text } of llm.generate('Hello', { maxTokens: 32 })) out += text;

export { MobileLLM } from './mobilellm.js';
export { resolveModelFile, convertSource } from './node_api.js';
export { jsonSchemaToGrammar } from './json_schema_grammar.js';
export { OPTIONS, FLAGS, MAX_THREADS, checkOption, parseOption } from './options.js';
export {
  MobileLLMError, DownloadError, FormatError, UnsupportedError, QuotaError, ContextFullError, AbortError,
  BusyError, StateError, ArgumentError, NoMemoryError, CacheError, InternalError,
} from './errors.js';
