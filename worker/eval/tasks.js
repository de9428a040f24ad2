// tasks.js — task files: JSONL lines in the layouts the datasets ship in on the Hugging Face hub,
// turned into scoring requests with lm-evaluation-harness's own templates (its task yaml and
// utils.py: doc_to_text, doc_to_choice, doc_to_target, target_delimiter " "). Pure text work:
// nothing here tokenizes or touches the engine.
//
// An item is either
//   {kind: 'choice', line, requests: [{context, continuation}], normTexts, gold}
//     one loglikelihood request per choice; normTexts are the strings the harness measures for
//     acc_norm (the choices; for WinoGrande the per-option contexts); gold indexes requests;
//   {kind: 'generate', line, context, until, answers}
//     greedy generation until one of `until`, scored by exact match against `answers`.

import { FormatError } from '../errors.js';

/** The layouts, and the field that tells each apart (checked in this order). */
export const FORMATS = Object.freeze(['hellaswag', 'winogrande', 'piqa', 'siqa', 'openbookqa', 'race', 'boolq',
  'triviaqa', 'arc', 'generic']);

const DELIM = ' '; // the harness's default target_delimiter
const FEWSHOT_DELIM = '\n\n'; // its default fewshot_delimiter

/** @param {Record<string, any>} d @returns {string|null} the layout a parsed line looks like */
export function detectFormat(d) {
  const has = (...k) => k.every((x) => d[x] !== undefined);
  if (has('ctx_a', 'endings')) return 'hellaswag';
  if (has('sentence', 'option1')) return 'winogrande';
  if (has('goal', 'sol1')) return 'piqa';
  if (has('answerA')) return 'siqa';
  if (has('question_stem')) return 'openbookqa';
  if (has('article')) return 'race';
  if (has('passage', 'question')) return 'boolq';
  if (has('question', 'answer') && d.answer && typeof d.answer === 'object') return 'triviaqa';
  if (has('question', 'choices', 'answerKey')) return 'arc';
  if (has('context', 'choices', 'gold')) return 'generic';
  return null;
}

class LineError extends Error {}
const fail = (msg) => { throw new LineError(msg); };

/** @param {any} v @param {string} name */
function str(v, name) {
  if (typeof v !== 'string') fail(`field '${name}' must be a string, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
  return v;
}

/** @param {any} v @param {string} name */
function strList(v, name) {
  if (!Array.isArray(v) || v.length === 0) fail(`field '${name}' must be a non-empty list of strings`);
  v.forEach((x, i) => { if (typeof x !== 'string') fail(`${name}[${i}] must be a string, got ${JSON.stringify(x)}`); });
  return v;
}

/** An integer gold index from a number or a digit string, checked against n choices. */
function goldIndex(v, n, name) {
  const g = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(g)) fail(`field '${name}' must be an integer index, got ${JSON.stringify(v)}`);
  if (g < 0 || g >= n) fail(`gold answer ${g} is out of range for ${n} choices`);
  return g;
}

/** Multiple choice with one context: continuation = " " + choice. */
function choiceItem(context, choices, gold) {
  choices.forEach((c, i) => { if (c.length === 0) fail(`choice ${i} is empty`); });
  return { kind: 'choice', context, requests: choices.map((c) => ({ context, continuation: DELIM + c })), normTexts: choices, gold };
}

/** {choices: {text: [...], label: [...]}, answerKey} as ARC and OpenBookQA ship them. */
function labelledChoices(d, key) {
  const c = d.choices;
  if (!c || typeof c !== 'object') fail("field 'choices' must be an object {text, label}");
  const text = strList(c.text, 'choices.text');
  const label = strList(c.label, 'choices.label');
  if (label.length !== text.length) fail(`choices.text has ${text.length} entries but choices.label ${label.length}`);
  const g = label.indexOf(key);
  if (g < 0) fail(`answerKey ${JSON.stringify(key)} is not one of the labels ${JSON.stringify(label)}`);
  return { text, gold: g };
}

/** HellaSwag's preprocess (utils.py): strip, " [title]" -> ". ", drop [bracketed] tags, "  " -> " ". */
export function hellaswagPreprocess(text) {
  return text.trim().replaceAll(' [title]', '. ').replace(/\[.*?\]/g, '').replaceAll('  ', ' ');
}

/** Python's str.capitalize(): first character upper (title) case, the rest lower case. */
export function pyCapitalize(s) {
  const cs = [...s];
  if (cs.length === 0) return s;
  return cs[0].toUpperCase() + cs.slice(1).join('').toLowerCase();
}

/** RACE: one document per article, scored on its last question (preprocess_race.py). */
function raceItem(article, problems) {
  if (problems.length === 0) fail('the article has no questions');
  const letters = { A: 0, B: 1, C: 2, D: 3 };
  problems.forEach((p, i) => {
    if (!p || typeof p !== 'object') fail(`problem ${i} is not an object`);
    str(p.question, `problems[${i}].question`);
    const opts = strList(p.options, `problems[${i}].options`);
    if (opts.length < 4) fail(`problem ${i} has ${opts.length} options, RACE needs 4`);
    if (!(p.answer in letters)) fail(`problem ${i} answer must be one of A-D, got ${JSON.stringify(p.answer)}`);
  });
  const answer = (p) => p.options[letters[p.answer]];
  let text = `Article: ${article}\n\n`;
  for (const p of problems.slice(0, -1)) {
    if (p.question.slice(-6) === '  _  .') text += p.question.slice(0, -5) + answer(p) + '\n';
    else text += `Question: ${p.question}\nAnswer: ${answer(p)}\n`;
  }
  const last = problems[problems.length - 1];
  text += last.question;
  return choiceItem(text, last.options.slice(0, 4), letters[last.answer]);
}

/**
 * One parsed line (a dataset document) as an item, by the harness's template for `format`.
 * Throws a LineError naming what is wrong.
 * @param {string} format
 * @param {Record<string, any>} d
 */
function docToItem(format, d) {
  switch (format) {
    case 'generic': {
      const choices = strList(d.choices, 'choices');
      return choiceItem(str(d.context, 'context'), choices, goldIndex(d.gold, choices.length, 'gold'));
    }
    case 'arc': {
      const { text, gold } = labelledChoices(d, str(d.answerKey, 'answerKey'));
      return choiceItem(`Question: ${str(d.question, 'question')}\nAnswer:`, text, gold);
    }
    case 'openbookqa': {
      const { text, gold } = labelledChoices(d, str(d.answerKey, 'answerKey').trimStart());
      return choiceItem(str(d.question_stem, 'question_stem'), text, gold);
    }
    case 'boolq': {
      // google/boolq has answer: true/false; super_glue's boolq label: 0/1 (0 = no).
      let g = d.label;
      if (g === undefined) {
        if (typeof d.answer !== 'boolean') fail(`field 'answer' must be true or false, got ${JSON.stringify(d.answer)}`);
        g = d.answer ? 1 : 0;
      }
      return choiceItem(`${str(d.passage, 'passage')}\nQuestion: ${str(d.question, 'question')}?\nAnswer:`, ['no', 'yes'],
        goldIndex(g, 2, 'label'));
    }
    case 'piqa':
      return choiceItem(`Question: ${str(d.goal, 'goal')}\nAnswer:`, [str(d.sol1, 'sol1'), str(d.sol2, 'sol2')],
        goldIndex(d.label, 2, 'label'));
    case 'siqa': {
      const choices = [str(d.answerA, 'answerA'), str(d.answerB, 'answerB'), str(d.answerC, 'answerC')];
      const label = goldIndex(d.label, 4, 'label');
      if (label < 1) fail('gold answer label 0 is out of range: SIQA labels are "1" to "3"');
      return choiceItem(`Q: ${str(d.context, 'context')} ${str(d.question, 'question')}\nA:`, choices, label - 1);
    }
    case 'hellaswag': {
      const ctx = `${str(d.ctx_a, 'ctx_a')} ${pyCapitalize(str(d.ctx_b, 'ctx_b'))}`;
      const query = hellaswagPreprocess(`${str(d.activity_label, 'activity_label')}: ${ctx}`);
      const endings = strList(d.endings, 'endings').map(hellaswagPreprocess);
      return choiceItem(query, endings, goldIndex(d.label, endings.length, 'label'));
    }
    case 'winogrande': {
      // Partial scoring: each option fills the blank in its own context; the text after the
      // blank is the one continuation scored under each (preprocess_winogrande.py).
      const s = str(d.sentence, 'sentence');
      const idx = s.indexOf('_');
      if (idx < 0) fail("field 'sentence' has no blank '_'");
      const opts = [str(d.option1, 'option1'), str(d.option2, 'option2')];
      const ans = { 1: 0, 2: 1 }[String(d.answer)];
      if (ans === undefined) fail(`field 'answer' must be "1" or "2", got ${JSON.stringify(d.answer)}`);
      const target = s.slice(idx + 1).trim();
      if (target.length === 0) fail('nothing follows the blank to score');
      const contexts = opts.map((o) => s.slice(0, idx) + o);
      return { kind: 'choice', context: null, requests: contexts.map((context) => ({ context, continuation: DELIM + target })),
        normTexts: contexts, gold: ans };
    }
    case 'race': {
      const article = str(d.article, 'article');
      let problems = d.problems;
      if (problems === undefined) {
        // ehovy/race: one question per line (grouped by article by the reader)
        problems = [{ question: str(d.question, 'question'), options: d.options, answer: d.answer }];
      } else if (typeof problems === 'string') {
        problems = parsePyLiteral(problems); // EleutherAI/race: a Python repr of the list
      }
      if (!Array.isArray(problems)) fail("field 'problems' must be a list of {question, options, answer}");
      return raceItem(article, problems);
    }
    case 'triviaqa': {
      const a = d.answer;
      const aliases = Array.isArray(a.aliases) ? a.aliases : [];
      if (aliases.length === 0 || !aliases.every((x) => typeof x === 'string')) fail("field 'answer.aliases' must be a non-empty list of strings");
      return { kind: 'generate', context: `Question: ${str(d.question, 'question')}?\nAnswer:`, until: ['\n', '.', ','], answers: aliases };
    }
    default:
      throw new Error(`unknown format ${format}`);
  }
}

/**
 * Parse a task file (JSONL) into items.
 * @param {string} text the file's contents
 * @param {{name?: string, format?: string, limit?: number, shots?: number}} [opts]
 *   format: one of FORMATS (default: detected from the first line's fields); limit: the first N
 *   documents; shots: K solved examples before each context (the K documents after it in the
 *   file, cyclically, each "context + answer", joined by blank lines — not the harness's
 *   random sampler, which draws from a training split).
 * @returns {{format: string, items: any[], nDocs: number}}
 */
export function parseTask(text, opts = {}) {
  const name = opts.name ?? 'task file';
  if (typeof text !== 'string') throw new FormatError(`The ${name} must be text (JSON lines).`);
  if (opts.format !== undefined && !FORMATS.includes(opts.format)) {
    throw new FormatError(`Unknown task format '${opts.format}' (expected one of ${FORMATS.join(', ')}).`);
  }
  const docs = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (!raw) continue;
    let d;
    try { d = JSON.parse(raw); } catch (e) {
      throw new FormatError(`${name} line ${i + 1}: not valid JSON (${e.message}).`, { line: i + 1 });
    }
    if (!d || typeof d !== 'object' || Array.isArray(d)) throw new FormatError(`${name} line ${i + 1}: expected a JSON object.`, { line: i + 1 });
    docs.push({ line: i + 1, d });
  }
  if (docs.length === 0) throw new FormatError(`The ${name} holds no JSON lines.`);
  const format = opts.format ?? detectFormat(docs[0].d);
  if (!format) {
    throw new FormatError(`${name} line ${docs[0].line}: the fields ${JSON.stringify(Object.keys(docs[0].d))} match no known task layout `
      + `(generic lines are {"context", "choices", "gold"}); name one with format.`, { line: docs[0].line });
  }
  // ehovy/race lists each question on its own line: consecutive lines of one article form the
  // document, as EleutherAI/race groups them.
  let units = docs.map((x) => ({ line: x.line, d: x.d }));
  if (format === 'race' && docs[0].d.problems === undefined) {
    units = [];
    for (const x of docs) {
      const prev = units[units.length - 1];
      if (prev && prev.d.article === x.d.article && typeof x.d.article === 'string') {
        prev.d.problems.push({ question: x.d.question, options: x.d.options, answer: x.d.answer });
      } else {
        units.push({ line: x.line, d: { article: x.d.article, problems: [{ question: x.d.question, options: x.d.options, answer: x.d.answer }] } });
      }
    }
  }
  const limit = opts.limit ?? Infinity;
  const items = [];
  for (const u of units.slice(0, Math.min(units.length, limit))) {
    try {
      items.push({ line: u.line, ...docToItem(format, u.d) });
    } catch (e) {
      if (e instanceof LineError) throw new FormatError(`${name} line ${u.line} (${format}): ${e.message}.`, { line: u.line });
      throw e;
    }
  }
  const shots = opts.shots ?? 0;
  if (shots > 0) addShots(items, shots, name);
  return { format, items, nDocs: units.length };
}

/** The solved example an item gives as a shot: its context and its gold answer. */
function solved(it) {
  if (it.kind === 'generate') return `${it.context}${DELIM}${it.answers[0]}`;
  const r = it.requests[it.gold];
  return r.context + r.continuation;
}

function addShots(items, k, name) {
  if (k >= items.length) throw new FormatError(`${k} shots need more than ${k} documents in the ${name}; it has ${items.length}.`);
  const examples = items.map(solved);
  items.forEach((it, i) => {
    const pre = Array.from({ length: k }, (_, j) => examples[(i + 1 + j) % items.length]).join(FEWSHOT_DELIM) + FEWSHOT_DELIM;
    if (it.kind === 'generate') it.context = pre + it.context;
    else it.requests = it.requests.map((r) => ({ context: pre + r.context, continuation: r.continuation }));
  });
}

/**
 * A Python literal (what str() of a list of dicts prints): lists, tuples, dicts, strings in
 * either quote with escapes, numbers, True / False / None. EleutherAI/race stores its problems so.
 * @param {string} s
 */
export function parsePyLiteral(s) {
  let i = 0;
  const ws = () => { while (i < s.length && /\s/.test(s[i])) i++; };
  const value = () => {
    ws();
    const c = s[i];
    if (c === '[' || c === '(') return seq(c === '[' ? ']' : ')');
    if (c === '{') return dict();
    if (c === "'" || c === '"') return string();
    const m = /^(True|False|None|-?\d+(\.\d+)?([eE][+-]?\d+)?)/.exec(s.slice(i, i + 40));
    if (!m) fail(`cannot read the Python literal at character ${i}`);
    i += m[0].length;
    return m[0] === 'True' ? true : m[0] === 'False' ? false : m[0] === 'None' ? null : Number(m[0]);
  };
  const seq = (close) => {
    const out = [];
    i++;
    for (;;) {
      ws();
      if (s[i] === close) { i++; return out; }
      out.push(value());
      ws();
      if (s[i] === ',') i++;
      else if (s[i] !== close) fail(`expected ',' or '${close}' at character ${i} of the Python literal`);
    }
  };
  const dict = () => {
    const out = {};
    i++;
    for (;;) {
      ws();
      if (s[i] === '}') { i++; return out; }
      const k = value();
      ws();
      if (s[i] !== ':') fail(`expected ':' at character ${i} of the Python literal`);
      i++;
      out[String(k)] = value();
      ws();
      if (s[i] === ',') i++;
      else if (s[i] !== '}') fail(`expected ',' or '}' at character ${i} of the Python literal`);
    }
  };
  const ESC = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', 0: '\0', a: '\x07', b: '\b', f: '\f', v: '\v' };
  const string = () => {
    const q = s[i++];
    let out = '';
    while (i < s.length && s[i] !== q) {
      if (s[i] !== '\\') { out += s[i++]; continue; }
      const e = s[i + 1];
      const hex = { x: 2, u: 4, U: 8 }[e];
      if (hex) {
        const h = s.slice(i + 2, i + 2 + hex);
        if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== hex) fail(`bad \\${e} escape at character ${i} of the Python literal`);
        out += String.fromCodePoint(parseInt(h, 16));
        i += 2 + hex;
      } else if (e === '\n') {
        i += 2; // a line continuation
      } else {
        out += ESC[e] ?? `\\${e}`;
        i += 2;
      }
    }
    if (s[i] !== q) fail('a string in the Python literal is not closed');
    i++;
    return out;
  };
  const v = value();
  ws();
  if (i !== s.length) fail(`unexpected text at character ${i} of the Python literal`);
  return v;
}
