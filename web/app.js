// app.js — the demo page: picks a model source, loads it through the package's public API
// (worker/index.js: MobileLLM.load / generate / cache), shows download progress, streams the
// output, and lists the models cached in this browser. No framework, no build step.
//
// Query parameters (for mirrors and tests): ?model=URL sets the bundled model's URL (default
// ../models/default.gguf), ?hf=URL a Hugging Face endpoint (default https://huggingface.co).
import { attachEvaluate } from './evaluate.js';
import { attachChat } from './chat.js';

import { parseRepoId } from '../lib/repo_id.js';
import { modelCard } from '../lib/model_card.js';
import { SAMPLER_DEFAULTS } from '../lib/sampler_defaults.js';
import { defaultMemoryLimit } from '../worker/memory.js';

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

const params = new URLSearchParams(location.search);
const BUNDLED_URL = new URL(params.get('model') || '../models/default.gguf', location.href).href;
/** @type {string|undefined} */
const hfEndpoint = params.get('hf') || undefined;
const ISOLATED = globalThis.crossOriginIsolated === true;
// The engine may use worker threads only where SharedArrayBuffer exists (cross-origin isolated).
const THREADS = ISOLATED ? Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 8)) : 1;
// The wasm memory a model and its context may take here (the API refuses larger ones).
const MEMORY_LIMIT = defaultMemoryLimit();

// The sampling form starts at the engine's defaults.
$('temperature').defaultValue = String(SAMPLER_DEFAULTS.temperature);
$('top-k').defaultValue = String(SAMPLER_DEFAULTS.topK);
$('top-p').defaultValue = String(SAMPLER_DEFAULTS.topP);

// ------------------------------------------------------------------------------ formatting

/** @param {number|null|undefined} n */
function fmtBytes(n) {
  if (n == null || !Number.isFinite(n)) return '?';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

/** @param {number} s */
function fmtDuration(s) {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 1) return '<1 s';
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

/** @param {number} n */
function fmtCount(n) {
  if (!Number.isFinite(n)) return '?';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e8 ? 0 : 1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

/** @param {number|null|undefined} x */
const fmtRate = (x) => (x == null || !Number.isFinite(x) ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

// ------------------------------------------------------------------------------ environment

function showEnv() {
  const net = $('env-net');
  net.textContent = navigator.onLine ? 'online' : 'offline';
  net.className = `badge ${navigator.onLine ? '' : 'warn'}`;
  const iso = $('env-iso');
  iso.textContent = ISOLATED ? 'cross-origin isolated' : 'not isolated: single thread';
  iso.className = `badge ${ISOLATED ? 'good' : ''}`;
  iso.title = ISOLATED ? 'COOP/COEP are set: SharedArrayBuffer and threads are available.'
    : 'The server sends no COOP/COEP headers; the engine runs on one thread.';
}
function showMemory() {
  const mem = $('env-mem');
  mem.textContent = `models up to ${fmtBytes(MEMORY_LIMIT)}`;
  mem.title = `A model and its context must fit in ${fmtBytes(MEMORY_LIMIT)} of wasm memory in this browser; a larger one is refused with a message and the tab keeps running.`;
}
showMemory();
addEventListener('online', showEnv);
addEventListener('offline', showEnv);
showEnv();

/** The service worker keeps the page, its scripts and the wasm for offline use. */
function registerServiceWorker() {
  const sw = $('env-sw');
  if (!('serviceWorker' in navigator)) {
    sw.textContent = 'no offline support';
    sw.title = 'This browser (or an http:// origin other than localhost) has no service workers.';
    return;
  }
  sw.textContent = navigator.serviceWorker.controller ? 'works offline' : 'preparing offline…';
  navigator.serviceWorker.register('./sw.js').then(async () => {
    await navigator.serviceWorker.ready;
    sw.textContent = 'works offline';
    sw.className = 'badge good';
  }, (e) => {
    sw.textContent = 'offline unavailable';
    sw.title = `The service worker could not be registered: ${e?.message ?? e}`;
  });
  if (navigator.serviceWorker.controller) sw.className = 'badge good';
}
registerServiceWorker();

// ------------------------------------------------------------------------------ the API

// When the service worker controls this page, the API is imported through its ./pkg/ view of
// the package, which sits inside the worker's scope: then the model worker (a separate
// client) is controlled too, and its scripts and wasm come from the offline cache.
const API_URL = navigator.serviceWorker?.controller ? './pkg/worker/index.js' : '../worker/index.js';
/** @type {typeof import('../worker/index.js')} */
let api;
try {
  api = await import(API_URL);
} catch (e) {
  try {
    api = await import('../worker/index.js');
  } catch {
    showMessage($('load-error'), 'The engine could not be loaded.',
      `${e?.message ?? e} Check that the page is served together with worker/, wasm_build/ and dist/ (run \`make wasm\`).`);
    $('load-btn').disabled = true;
    throw e;
  }
}
const { MobileLLM } = api;
/** Sampling fields and the options they set; their ranges come from the API's one table. */
const SAMPLING_FIELDS = /** @type {const} */ ([['temperature', 'temperature'], ['top-k', 'topK'], ['top-p', 'topP'],
  ['max-tokens', 'maxTokens'], ['seed', 'seed']]);
for (const [id, name] of SAMPLING_FIELDS) {
  const spec = api.OPTIONS[name];
  $(id).min = String(spec.min);
  $(id).max = String(spec.max);
}

// ------------------------------------------------------------------------------ messages

/**
 * @param {HTMLElement} el
 * @param {string} title one sentence: what failed
 * @param {string} [detail] why, and what to do
 */
function showMessage(el, title, detail) {
  el.replaceChildren();
  const strong = document.createElement('strong');
  strong.textContent = title;
  el.append(strong);
  if (detail) el.append(' ', detail);
  el.hidden = false;
}

/** @param {HTMLElement} el */
function clearMessage(el) {
  el.hidden = true;
  el.replaceChildren();
}

/** What the user can do about an API error, by its code. @param {any} e @param {{source: any}} [pick] */
function advice(e, pick) {
  if (pick?.source === BUNDLED_URL && e?.status === 404) {
    return 'The bundled model is not on this server: build it with `make model`, or choose another source.';
  }
  switch (e?.code) {
    case 'download': return navigator.onLine ? 'Check the address; the server must exist and allow cross-origin requests.'
      : 'You are offline; only cached models can be loaded.';
    case 'format': return 'The file is not a GGUF model (or it is damaged).';
    case 'unsupported': return 'This engine runs llama / MobileLLM models with F32, F16, BF16 or Q8_0 weights.';
    case 'quota': return 'Free some space: delete cached models below.';
    case 'nomem': return `Models up to ${fmtBytes(MEMORY_LIMIT)} (with their context) fit in this tab; try a smaller model or quantization.`;
    case 'context_full': return 'Shorten the prompt.';
    default: return '';
  }
}

/** @param {any} e @param {{source: any}} [pick] */
const errorText = (e, pick) => {
  const msg = String(e?.message ?? e ?? 'Unknown error').trim();
  const tip = advice(e, pick);
  return tip ? `${msg}${/[.!?]$/.test(msg) ? '' : '.'} ${tip}` : msg;
};

// ------------------------------------------------------------------------------ model source

$('bundled-url').textContent = BUNDLED_URL;

const form = $('load-form');
/** @returns {string} */
const sourceKind = () => form.elements.source.value;

function showPane() {
  for (const pane of form.querySelectorAll('.pane')) pane.hidden = pane.dataset.for !== sourceKind();
}
form.addEventListener('change', (e) => { if (e.target.name === 'source') showPane(); });
showPane();

/** @type {{kind: 'file', file: File} | {kind: 'folder', files: File[], label: string} | null} */
let chosen = null;

/** @param {typeof chosen} c */
function setChosen(c) {
  chosen = c;
  $('file-chosen').textContent = !c ? 'Nothing chosen yet.'
    : c.kind === 'file' ? `Chosen: ${c.file.name} (${fmtBytes(c.file.size)})`
      : `Chosen: folder ${c.label} (${c.files.length} files, ${fmtBytes(c.files.reduce((s, f) => s + f.size, 0))})`;
}

/** A checkpoint folder: its top-level files (a GGUF inside is loaded as that file). @param {File[]} files */
function chooseFolder(files, label) {
  const gguf = files.filter((f) => /\.gguf$/i.test(f.name));
  if (gguf.length === 1 && !files.some((f) => f.name === 'config.json')) return setChosen({ kind: 'file', file: gguf[0] });
  setChosen({ kind: 'folder', files, label });
}

$('file-input').addEventListener('change', () => {
  const f = $('file-input').files?.[0];
  if (f) { setChosen({ kind: 'file', file: f }); loadModel(); }
});
$('dir-input').addEventListener('change', () => {
  const all = [...($('dir-input').files ?? [])];
  if (!all.length) return;
  // webkitRelativePath is 'folder/name' for top-level files; deeper files are not the checkpoint's.
  const top = all.filter((f) => (f.webkitRelativePath || f.name).split('/').length <= 2);
  chooseFolder(top, (all[0].webkitRelativePath || '').split('/')[0] || 'the folder');
  loadModel();
});

const drop = $('drop-zone');
for (const type of ['dragenter', 'dragover']) {
  drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add('over'); });
}
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', async (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const item = [...(e.dataTransfer?.items ?? [])].find((i) => i.kind === 'file');
  const entry = item?.webkitGetAsEntry?.();
  try {
    if (entry?.isDirectory) chooseFolder(await readDirectory(/** @type {any} */ (entry)), entry.name);
    else {
      const f = e.dataTransfer?.files?.[0];
      if (!f) return;
      setChosen({ kind: 'file', file: f });
    }
  } catch (err) {
    showMessage($('load-error'), 'The dropped folder could not be read.', String(err?.message ?? err));
    return;
  }
  loadModel();
});
// A file dropped next to the zone must not navigate away from the page.
addEventListener('dragover', (e) => e.preventDefault());
addEventListener('drop', (e) => e.preventDefault());

/** The files directly inside a dropped directory. @param {any} dir @returns {Promise<File[]>} */
async function readDirectory(dir) {
  const reader = dir.createReader();
  const entries = [];
  for (;;) {
    const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
    if (!batch.length) break;
    entries.push(...batch);
  }
  return Promise.all(entries.filter((en) => en.isFile).map((en) => new Promise((res, rej) => en.file(res, rej))));
}

/**
 * The API source for the current choice, or a message saying what is missing.
 * @returns {{source: any, label: string} | {problem: string}}
 */
function currentSource() {
  switch (sourceKind()) {
    case 'bundled': return { source: BUNDLED_URL, label: 'the bundled model' };
    case 'url': {
      const v = $('url-input').value.trim();
      if (!v) return { problem: 'Enter the URL of a .gguf file.' };
      let u;
      try { u = new URL(v, location.href); } catch { return { problem: `'${v}' is not a URL.` }; }
      if (!/^https?:$/.test(u.protocol)) return { problem: `'${v}' is not an http(s) URL.` };
      return { source: u.href, label: decodeURIComponent(u.pathname.split('/').pop() || u.host) };
    }
    case 'hf': {
      const v = $('hf-input').value.trim().replace(/^https:\/\/huggingface\.co\//, '').replace(/\/$/, '');
      if (!parseRepoId(v)) return { problem: `Enter a repo id like facebook/MobileLLM-125M${v ? `, not '${v}'` : ''}.` };
      return { source: v, label: v };
    }
    default:
      if (!chosen) return { problem: 'Choose or drop a .gguf file or a checkpoint folder first.' };
      return chosen.kind === 'file' ? { source: chosen.file, label: chosen.file.name }
        : { source: { files: Object.fromEntries(chosen.files.map((f) => [f.name, f])), label: `folder ${chosen.label}` }, label: `folder ${chosen.label}` };
  }
}

// ------------------------------------------------------------------------------ loading

/** @type {InstanceType<typeof MobileLLM> | null} */
let llm = null;
/** @type {AbortController | null} */
let loadCtl = null;
/** @type {AbortController | null} */
let genCtl = null;

form.addEventListener('submit', (e) => { e.preventDefault(); loadModel(); });
$('cancel-load-btn').addEventListener('click', () => loadCtl?.abort());
attachEvaluate(() => llm, showMessage); // the Evaluate panel (evaluate.js) scores whatever model is loaded
attachChat(() => llm, showMessage, readSampling, errorText); // the Chat panel (chat.js) talks to it

const PHASES = {
  download: 'Downloading', convert: 'Converting the checkpoint', verify: 'Cached copy damaged, fetching again',
  load: 'Loading into memory',
};

/** Progress display for one load. */
function progressTracker() {
  let phase = '';
  let t0 = performance.now();
  let downloaded = 0;
  let converted = false;
  const bar = $('progress');
  return {
    get downloaded() { return downloaded; },
    get converted() { return converted; },
    /** @param {{phase: string, loaded: number, total: number|null, rate?: number, file?: string, waiting?: boolean}} p */
    update(p) {
      if (p.phase !== phase) { phase = p.phase; t0 = performance.now(); }
      const secs = (performance.now() - t0) / 1000;
      const rate = p.rate ?? (secs > 0.05 ? p.loaded / secs : NaN);
      if (p.phase === 'download' && !p.waiting) downloaded = Math.max(downloaded, p.loaded);
      if (p.phase === 'convert') converted = true;
      $('progress-phase').textContent = p.waiting ? 'Waiting for the download in another tab'
        : `${PHASES[p.phase] ?? p.phase}${p.file ? ` ${p.file}` : ''}`;
      const parts = [];
      if (p.total) {
        const pct = Math.min(100, Math.floor((p.loaded / p.total) * 100));
        bar.value = pct;
        $('progress-pct').textContent = `${pct}%`;
        parts.push(`${fmtBytes(p.loaded)} of ${fmtBytes(p.total)}`);
      } else {
        bar.removeAttribute('value'); // indeterminate: the size is not known
        $('progress-pct').textContent = '';
        if (p.loaded) parts.push(fmtBytes(p.loaded));
      }
      if (Number.isFinite(rate) && rate > 0 && p.loaded) {
        parts.push(`${fmtBytes(rate)}/s`);
        if (p.total && p.loaded < p.total) parts.push(`${fmtDuration((p.total - p.loaded) / rate)} left`);
      }
      $('progress-text').textContent = parts.join(' · ') || '\u00a0';
    },
  };
}

function setLoading(on) {
  const moveFocus = on ? document.activeElement === $('load-btn') : document.activeElement === $('cancel-load-btn');
  $('load-btn').disabled = on;
  $('cancel-load-btn').hidden = !on;
  for (const el of form.querySelectorAll('input')) el.disabled = on;
  if (moveFocus) (on ? $('cancel-load-btn') : $('load-btn')).focus();
  updateGenButtons();
}

/** @param {{source: any, label: string}} [pick] what to load (a cache entry); default: the form's choice */
async function loadModel(pick) {
  if (loadCtl) return; // one load at a time
  const ctl = new AbortController();
  loadCtl = ctl;
  try {
    await runLoad(ctl, pick);
  } finally {
    loadCtl = null;
    setLoading(false);
    refreshCache();
  }
}

/** @param {AbortController} ctl @param {{source: any, label: string}} [chosen] */
async function runLoad(ctl, chosen) {
  clearMessage($('load-error'));
  const pick = chosen ?? currentSource();
  if ('problem' in pick) {
    showMessage($('load-error'), 'Nothing to load.', pick.problem);
    return;
  }
  if (pick.source instanceof Blob) {
    // Checked here, before the loaded model is given up for a file that cannot replace it.
    const head = new Uint8Array(await pick.source.slice(0, 4).arrayBuffer());
    if (String.fromCharCode(...head) !== 'GGUF') {
      showMessage($('load-error'), `${pick.label} is not a GGUF model file.`,
        `It does not start with the 'GGUF' signature${head.length < 4 ? ' (it is shorter than 4 bytes)' : ''}. Choose a .gguf file, or a checkpoint folder with config.json.${llm ? ' The model already loaded stays in use.' : ''}`);
      return;
    }
  }
  if (genCtl) genCtl.abort();
  if (llm) {
    const old = llm;
    llm = null;
    $('model-card').hidden = true;
    await old.unload().catch(() => {});
  }
  const started = performance.now();
  const tracker = progressTracker();
  $('progress-wrap').hidden = false;
  $('progress').value = 0;
  $('progress-pct').textContent = '0%';
  $('progress-phase').textContent = 'Starting';
  $('progress-text').textContent = '\u00a0';
  $('load-status').className = 'status';
  $('load-status').textContent = `Loading ${pick.label}…`;
  setLoading(true);
  try {
    const model = await MobileLLM.load(pick.source, {
      signal: ctl.signal,
      onProgress: (p) => tracker.update(p),
      persist: true, // ask the browser not to evict cached models
      threads: THREADS,
      ...(hfEndpoint ? { hfEndpoint } : {}),
    });
    llm = model;
    $('progress').value = 100;
    $('progress-pct').textContent = '100%';
    const secs = (performance.now() - started) / 1000;
    const how = model.info.fromCache ? 'from this browser\'s cache, no download'
      : [tracker.downloaded ? `downloaded ${fmtBytes(tracker.downloaded)}` : '', tracker.converted ? 'converted to GGUF and cached' : '']
        .filter(Boolean).join(', ') || 'read from the file';
    $('progress-phase').textContent = 'Ready';
    $('load-status').className = 'status ok';
    $('load-status').textContent = `Model ready (${how}) in ${secs.toFixed(1)} s.`;
    showCard(model.info, pick.label);
  } catch (e) {
    $('load-status').textContent = 'No model is loaded.';
    $('progress-wrap').hidden = true;
    if (e?.code === 'aborted') $('load-status').textContent = 'Loading was cancelled; no model is loaded.';
    else showMessage($('load-error'), `Could not load ${pick.label}.`, errorText(e, pick));
  }
}

/** @param {Record<string, any>} info @param {string} label */
function showCard(info, label) {
  $('card-title').textContent = info.name || label;
  const card = modelCard(info);
  $('card-family').textContent = card.family;
  $('card-layout').textContent = card.layout;
  $('card-attn').textContent = card.attention;
  $('card-rope').textContent = card.rope;
  $('card-types').textContent = card.weights;
  $('card-params').textContent = `${fmtCount(info.nParams)} (${fmtBytes(info.weightBytes)} of weights)`;
  $('card-layers').textContent = `${info.nLayerStored} stored / ${info.nLayerEffective} effective`;
  $('card-share').textContent = info.shareRepeat > 1 ? `each block runs ×${info.shareRepeat}, ${info.shareMode.replace('_', ' ')}` : 'none';
  $('card-quant').textContent = info.quant ?? info.weightType;
  $('card-ctx').textContent = `${info.nCtx} tokens${info.nCtxTrain && info.nCtxTrain !== info.nCtx ? ` (trained ${info.nCtxTrain})` : ''}`;
  $('card-shape').textContent = `d ${info.nEmbd} · ffn ${info.nFf} · ${info.nHead} heads / ${info.nHeadKv} KV · vocab ${info.nVocab}`;
  $('card-tok').textContent = card.vocabulary;
  const threads = typeof info.threads === 'number' ? `${info.threads} ${info.threads === 1 ? 'thread' : 'threads'}`
    : `${THREADS} ${THREADS === 1 ? 'thread' : 'threads'} requested`; // an API without info.threads
  $('card-engine').textContent = `${info.simd === true ? 'wasm SIMD128' : info.simd === false ? 'wasm, no SIMD' : 'wasm'} · ${threads}`;
  $('card-source').textContent = `${label}${info.fromCache ? ' (cached)' : ''}`;
  $('model-card').hidden = false;
  if (info.warnings?.length) $('load-status').textContent += ` Note: ${info.warnings.join(' ')}`;
}

// ------------------------------------------------------------------------------ generation

const genForm = $('gen-form');
genForm.addEventListener('submit', (e) => { e.preventDefault(); generate(); });
$('stop-btn').addEventListener('click', () => stop());
$('prompt').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); generate(); }
});
addEventListener('keydown', (e) => {
  if (e.key !== 'Escape') return;
  if (genCtl) { e.preventDefault(); stop(); } else if (loadCtl) { e.preventDefault(); loadCtl.abort(); }
});

function stop() {
  if (!genCtl) return;
  genCtl.abort(); // the API yields nothing more once its signal has fired
  $('stat-state').textContent = 'stopping…';
}

function updateGenButtons() {
  const running = !!genCtl;
  const moveFocus = running ? document.activeElement === $('gen-btn') : document.activeElement === $('stop-btn');
  $('gen-btn').disabled = running || !llm || !!loadCtl;
  $('stop-btn').disabled = !running;
  if (moveFocus) (running ? $('stop-btn') : $('gen-btn')).focus();
}

/**
 * The sampling options, or a message naming the field that is out of range (the API's one
 * table of options decides: worker/options.js).
 * @returns {{opts: Record<string, number>} | {problem: string}}
 */
function readSampling() {
  try {
    /** @type {Record<string, number>} */
    const opts = {};
    for (const [id, name] of SAMPLING_FIELDS) {
      if (name === 'seed' && $(id).value.trim() === '') continue; // blank: a random seed
      opts[name] = api.parseOption(name, $(id).value, api.OPTIONS[name].label);
    }
    return { opts };
  } catch (e) {
    return { problem: e.message };
  }
}

async function generate() {
  if (!llm || genCtl || loadCtl) return;
  const model = llm;
  clearMessage($('gen-error'));
  const prompt = $('prompt').value;
  if (!prompt.trim()) { showMessage($('gen-error'), 'Nothing to continue.', 'Write a prompt first.'); return; }
  const s = readSampling();
  if ('problem' in s) { showMessage($('gen-error'), 'Check the sampling settings.', s.problem); return; }
  const schemaText = $('json-schema').value.trim();
  /** @type {Record<string, any>} */
  const constraint = {};
  if (schemaText) {
    try {
      constraint.jsonSchema = JSON.parse(schemaText);
      api.jsonSchemaToGrammar(constraint.jsonSchema); // an unsupported schema is reported before anything runs
    } catch (e) {
      showMessage($('gen-error'), 'Check the JSON Schema.', e instanceof SyntaxError ? `It is not valid JSON: ${e.message}` : errorText(e));
      return;
    }
  }

  genCtl = new AbortController();
  const signal = genCtl.signal;
  updateGenButtons();
  const out = $('output');
  const echo = document.createElement('span');
  echo.className = 'prompt-echo';
  echo.textContent = prompt;
  const text = document.createTextNode('');
  out.replaceChildren(echo, text);
  out.classList.add('running');
  out.setAttribute('aria-busy', 'true');
  out.dataset.tokens = '0';
  $('stat-prefill').textContent = '–';
  $('stat-decode').textContent = '–';
  $('stat-tokens').textContent = '0';
  $('stat-state').textContent = 'reading the prompt…';
  $('gen-announce').textContent = 'Generating…';

  let n = 0;
  let tFirst = 0;
  let promptTokens = 0;
  try {
    promptTokens = (await model.tokenize(prompt)).length;
    const t0 = performance.now();
    for await (const { text: piece, token } of model.generate(prompt, { ...s.opts, ...constraint, signal })) {
      const now = performance.now();
      const stick = out.scrollHeight - out.scrollTop - out.clientHeight < 24;
      if (piece) text.appendData(piece);
      if (token !== null) {
        n++;
        out.dataset.tokens = String(n);
        $('stat-tokens').textContent = String(n);
        if (n === 1) {
          tFirst = now;
          // Until the API's exact figures arrive: the prompt's share of the time to the first token.
          $('stat-prefill').textContent = fmtRate(promptTokens / Math.max(1e-3, (now - t0) / 1000));
          $('stat-state').textContent = 'generating…';
        } else {
          $('stat-decode').textContent = fmtRate((n - 1) / Math.max(1e-3, (now - tFirst) / 1000));
        }
      }
      if (stick) out.scrollTop = out.scrollHeight;
    }
    finishStats(model, `done: ${stopWords(model.lastStats?.stopReason)}`);
  } catch (e) {
    if (e?.code === 'aborted') finishStats(model, `stopped after ${n} tokens`);
    else {
      $('stat-state').textContent = '';
      showMessage($('gen-error'), 'Generation failed.', errorText(e));
    }
  } finally {
    // One announcement for screen readers when the run ends, not one per token.
    $('gen-announce').textContent = `Generation ${$('stat-state').textContent || 'ended'}.`;
    out.classList.remove('running');
    out.removeAttribute('aria-busy');
    genCtl = null;
    updateGenButtons();
  }
}

/** @param {string|undefined} reason */
function stopWords(reason) {
  return { eos: 'end of text', length: 'max tokens reached', stop: 'stop string', context_full: 'context full' }[reason ?? ''] ?? (reason || 'finished');
}

/** The API's exact figures for the finished (or stopped) run. */
function finishStats(model, state) {
  const st = model.lastStats;
  if (st) {
    $('stat-prefill').textContent = fmtRate(st.prefillTokPerS);
    if (st.generatedTokens > 1 || !Number.isFinite(Number($('stat-decode').textContent))) $('stat-decode').textContent = fmtRate(st.decodeTokPerS);
  }
  $('stat-state').textContent = state;
}

// ------------------------------------------------------------------------------ cache panel

/** Whether an entry can be loaded as it is (MobileLLM.load({ cacheKey }) takes complete models only). */
function entryLoadable(entry) {
  return entry.complete && entry.kind === 'gguf';
}

/** A short, readable name for an entry. */
function entryName(entry) {
  const src = String(entry.source || entry.key);
  if (/^https?:\/\//.test(src)) {
    try {
      const u = new URL(src);
      return { main: decodeURIComponent(u.pathname.split('/').pop() || u.host), sub: u.host === location.host ? u.pathname : `${u.host}${u.pathname}` };
    } catch { /* fall through */ }
  }
  return { main: src, sub: entry.dtype ? `converted to ${entry.dtype.toUpperCase()}` : '' };
}

let cacheRefresh = Promise.resolve();
function refreshCache() {
  cacheRefresh = cacheRefresh.then(drawCache, drawCache);
  return cacheRefresh;
}

async function drawCache() {
  const body = $('cache-body');
  try {
    const [list, usage] = await Promise.all([MobileLLM.cache.list(), MobileLLM.cache.usage()]);
    clearMessage($('cache-error'));
    body.replaceChildren(...list.map(cacheRow));
    $('cache-empty').hidden = list.length > 0;
    $('cache-table').hidden = list.length === 0;
    const parts = [`${fmtBytes(usage.usage)} used by ${usage.entries} ${usage.entries === 1 ? 'model' : 'models'}`];
    if (usage.quota != null) parts.push(`${fmtBytes(usage.free)} free of a ${fmtBytes(usage.quota)} quota`);
    $('cache-usage').textContent = `${parts.join(' · ')}.`;
    const meter = $('cache-meter');
    if (usage.quota) {
      meter.max = usage.quota;
      meter.value = Math.max(0, usage.quota - (usage.free ?? usage.quota));
      meter.hidden = false;
    } else meter.hidden = true;
  } catch (e) {
    showMessage($('cache-error'), 'The model cache could not be read.', String(e?.message ?? e));
  }
}

/** @param {any} entry */
function cacheRow(entry) {
  const tr = document.createElement('tr');
  tr.dataset.key = entry.key;
  const name = entryName(entry);
  const tdName = document.createElement('td');
  tdName.className = 'name';
  const b = document.createElement('span');
  b.textContent = name.main;
  tdName.append(b);
  tdName.title = entry.source || entry.key;
  if (name.sub) {
    const small = document.createElement('div');
    small.className = 'hint';
    small.textContent = name.sub;
    tdName.append(small);
  }
  const tdSize = document.createElement('td');
  tdSize.className = 'size';
  tdSize.textContent = entry.complete || !entry.size ? fmtBytes(entry.complete ? entry.size : entry.storedBytes)
    : `${fmtBytes(entry.storedBytes)} of ${fmtBytes(entry.size)}`;
  const tdState = document.createElement('td');
  tdState.textContent = entry.complete ? (entry.kind === 'raw' ? 'download' : 'ready')
    : `partial${entry.size ? ` (${Math.floor((entry.storedBytes / entry.size) * 100)}%)` : ''}`;
  if (!entry.complete) tdState.className = 'state-partial';
  const tdAct = document.createElement('td');
  tdAct.className = 'actions';
  if (entryLoadable(entry)) {
    const load = document.createElement('button');
    load.type = 'button';
    load.className = 'small';
    load.textContent = 'Load';
    load.setAttribute('aria-label', `Load ${name.main}`);
    load.addEventListener('click', () => loadModel({ source: { cacheKey: entry.key }, label: name.main }));
    tdAct.append(load);
  }
  const del = document.createElement('button');
  del.type = 'button';
  del.className = 'small danger';
  del.textContent = 'Delete';
  del.setAttribute('aria-label', `Delete ${name.main} (${fmtBytes(entry.storedBytes ?? entry.size)})`);
  del.addEventListener('click', async () => {
    del.disabled = true;
    try {
      await MobileLLM.cache.delete(entry.key);
    } catch (e) {
      showMessage($('cache-error'), `Could not delete ${name.main}.`, String(e?.message ?? e));
    }
    await refreshCache();
    $('cache-h').focus?.(); // the button is gone: keep keyboard focus in the panel
  });
  tdAct.append(del);
  tr.append(tdName, tdSize, tdState, tdAct);
  return tr;
}

$('cache-h').tabIndex = -1;
refreshCache();
