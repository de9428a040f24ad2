// prompt_cache.js — which tokens a context's KV cache holds between generate() calls, so that
// the next call evaluates only the tokens after the longest prefix its prompt shares with them
// (a chat's next turn, an app that resends a long system prompt). What it holds is dropped
// whenever the cache might not match it: from the start of each evaluation until the run ends
// cleanly, so a failure or an abort mid-prompt leaves nothing to reuse.

const NONE = new Int32Array(0);

/**
 * Length of the longest common prefix of two token lists.
 * @param {ArrayLike<number>} a @param {ArrayLike<number>} b
 */
export function commonPrefix(a, b) {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export class PromptCache {
  /** @param {import('../wasm_build/engine.js').Context} ctx the context whose cache this describes (not owned) */
  constructor(ctx) {
    this.ctx = ctx;
    /** @type {Int32Array} token ids at positions 0 .. ctx.nPast - 1, or none when unknown */
    this.held = NONE;
  }

  /**
   * Rewind the context for a run over `ids`: to the prefix they share with what it holds (none
   * with reuse false), always leaving at least one token to evaluate so the logits are fresh.
   * Nothing is held from here until commit().
   * @param {Int32Array} ids the prompt (non-empty)
   * @param {boolean} reuse
   * @returns {number} the prompt tokens taken from the cache
   */
  begin(ids, reuse) {
    // A cache whose length is not what was recorded was changed behind our back: reuse none of it.
    const valid = this.held.length === this.ctx.nPast;
    const keep = reuse && valid ? Math.min(commonPrefix(this.held, ids), ids.length - 1) : 0;
    this.held = NONE;
    this.ctx.rewind(keep);
    return keep;
  }

  /**
   * Record what the context holds after a run that ended without an error: the prompt, then
   * the generated tokens as far as they were evaluated (a run's last token, the one that ended
   * it, usually was not).
   * @param {Int32Array} ids the prompt
   * @param {ArrayLike<number>} generated the run's tokens, in order
   */
  commit(ids, generated) {
    const n = this.ctx.nPast;
    if (n < ids.length || n > ids.length + generated.length) { this.held = NONE; return; }
    const held = new Int32Array(n);
    held.set(ids);
    for (let i = ids.length; i < n; i++) held[i] = generated[i - ids.length];
    this.held = held;
  }

  /** Forget what the cache holds (the next run evaluates its whole prompt). */
  clear() { this.held = NONE; }
}
