// evaluate.js — the demo page's Evaluate panel: pick task files (JSON lines in a dataset's layout,
// or {context, choices, gold}) or texts, run llm.evaluate() in the model's worker with a progress
// bar and a Stop button, and show what lm-evaluation-harness would report.

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/** @param {number|null|undefined} x @param {number|null|undefined} se */
const pct = (x, se) => (x == null ? '–' : `${(100 * x).toFixed(1)}${se == null ? '' : ` ± ${(100 * se).toFixed(1)}`}`);

/**
 * @param {() => any} getModel the page's loaded MobileLLM, or null
 * @param {(el: HTMLElement, title: string, detail?: string) => void} showMessage
 */
export function attachEvaluate(getModel, showMessage) {
  let ctl = null;
  const form = $('eval-form');
  const setRunning = (on) => {
    $('eval-btn').disabled = on;
    $('eval-stop-btn').disabled = !on;
    $('eval-progress-wrap').hidden = !on && $('eval-progress').value === 0;
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (ctl) return;
    const err = $('eval-error');
    err.hidden = true;
    const llm = getModel();
    const files = [...$('eval-files').files];
    if (!llm) { showMessage(err, 'Load a model first.'); return; }
    if (!files.length) { showMessage(err, 'Choose one or more task files.', 'JSON lines: ARC, BoolQ, PIQA, SIQA, HellaSwag, OpenBookQA, WinoGrande, RACE or TriviaQA as the datasets ship them, or {"context", "choices", "gold"}.'); return; }
    const perplexity = $('eval-kind').value === 'perplexity';
    const limit = Number($('eval-limit').value) || undefined;
    const tasks = files.map((f) => (perplexity ? { name: f.name, perplexity: f } : { name: f.name, text: f }));
    ctl = new AbortController();
    $('eval-progress').value = 0;
    $('eval-progress-text').textContent = 'Starting…';
    setRunning(true);
    $('eval-status').textContent = '';
    const t0 = performance.now();
    try {
      const { results } = await llm.evaluate(tasks, {
        limit, signal: ctl.signal,
        onProgress: ({ task, done, total }) => {
          $('eval-progress').value = Math.round((100 * done) / total);
          $('eval-progress-text').textContent = `${task}: ${done} of ${total} documents`;
        },
      });
      showResults(results);
      $('eval-status').textContent = `Done in ${((performance.now() - t0) / 1000).toFixed(1)} s.`;
    } catch (e2) {
      if (e2?.code === 'aborted') $('eval-status').textContent = 'Stopped.';
      else showMessage(err, 'The evaluation failed.', String(e2?.message ?? e2));
    } finally {
      ctl = null;
      setRunning(false);
    }
  });
  $('eval-stop-btn').addEventListener('click', () => ctl?.abort());
}

/** @param {Record<string, any>} results */
function showResults(results) {
  const body = $('eval-body');
  body.replaceChildren();
  for (const [name, r] of Object.entries(results)) {
    const cells = 'token_perplexity' in r
      ? [name, 'perplexity', r.tokens, `token ppl ${r.token_perplexity}`, `${r.bits_per_byte} bits/byte`]
      : 'exact_match' in r
        ? [name, r.format, r.n, `exact match ${pct(r.exact_match, r.exact_match_stderr)}`, '']
        : [name, r.format, r.n, pct(r.acc, r.acc_stderr), pct(r.acc_norm, r.acc_norm_stderr)];
    const tr = document.createElement('tr');
    cells.forEach((c, i) => {
      const td = document.createElement(i === 0 ? 'th' : 'td');
      if (i === 0) td.scope = 'row';
      td.textContent = String(c);
      tr.append(td);
    });
    body.append(tr);
  }
  $('eval-table').hidden = false;
}
