// repo_id.js — Hugging Face repo ids as model sources: 'owner/name', optionally '@revision'
// (also written 'hf://owner/name' or 'https://huggingface.co/owner/name'). The API, the CLI and
// the demo page all decide "is this a repo id?" here.

const REPO_RE = /^([A-Za-z0-9][\w.-]{0,95})\/([\w.-]{1,96})(?:@([\w./-]+))?$/;

/**
 * @param {string} s
 * @returns {{repo: string, revision: string|null}|null} null when s is not a repo id
 */
export function parseRepoId(s) {
  let t = String(s).trim();
  t = t.replace(/^hf:\/\//, '').replace(/^https:\/\/huggingface\.co\//, '').replace(/\/$/, '');
  const m = REPO_RE.exec(t);
  if (!m || m[1].includes('..') || m[2].includes('..')) return null;
  return { repo: `${m[1]}/${m[2]}`, revision: m[3] ?? null };
}
