// metrics.js — lm-evaluation-harness's per-document metrics and their aggregation: acc,
// acc_norm (log-likelihood divided by the choice's length in characters, as its
// process_results does), acc_bytes (divided by UTF-8 bytes), TriviaQA's exact match after
// its normalization, mean and mean_stderr (sample standard deviation / sqrt(n)).

const utf8 = new TextEncoder();

/** Python's len(): code points. @param {string} s */
export const charLength = (s) => { let n = 0; for (const _ of s) n++; return n; };

/** @param {string} s */
export const byteLength = (s) => utf8.encode(s).length;

/** numpy.argmax: the first index of the largest value. @param {number[]} a */
export function argmax(a) {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

/**
 * One multiple-choice document's scores.
 * @param {number[]} lls log-likelihood of each request's continuation
 * @param {string[]} normTexts the strings whose lengths normalize (the harness's choices)
 * @param {number} gold
 */
export function scoreChoice(lls, normTexts, gold) {
  const pred = argmax(lls);
  const predNorm = argmax(lls.map((x, i) => x / charLength(normTexts[i])));
  const predBytes = argmax(lls.map((x, i) => x / byteLength(normTexts[i])));
  return { pred, pred_norm: predNorm, acc: +(pred === gold), acc_norm: +(predNorm === gold), acc_bytes: +(predBytes === gold) };
}

const PUNCT = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'); // Python's string.punctuation

/** The harness's exact_match with ignore_case and ignore_punctuation. @param {string} s */
export function normalizeAnswer(s) {
  let out = '';
  for (const c of s.toLowerCase()) if (!PUNCT.has(c)) out += c;
  return out;
}

/**
 * TriviaQA: the generation up to the first stop string, stripped (the remove_whitespace
 * filter), matches any alias after normalization.
 * @param {string} output @param {string[]} answers
 */
export function scoreGenerated(output, answers) {
  const p = normalizeAnswer(output.trim());
  return { exact_match: +answers.some((a) => normalizeAnswer(a) === p) };
}

/** @param {number[]} xs */
export function mean(xs) {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** The harness's mean_stderr: sample std (n - 1) / sqrt(n); null below two values. @param {number[]} xs */
export function meanStderr(xs) {
  const n = xs.length;
  if (n < 2) return null;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (n - 1)) / Math.sqrt(n);
}

/**
 * Aggregate per-document metric values: {name: mean, name_stderr: ...}.
 * @param {Record<string, number>[]} docs
 * @param {string[]} names
 */
export function aggregate(docs, names) {
  const out = {};
  for (const k of names) {
    const xs = docs.map((d) => d[k]);
    out[k] = +mean(xs).toFixed(6);
    const se = meanStderr(xs);
    out[`${k}_stderr`] = se === null ? null : +se.toFixed(6);
  }
  return out;
}

/** The harness's word count for word_perplexity (re.split(r"\s+", text)). @param {string} s */
export const wordCount = (s) => s.split(/\s+/).length;
