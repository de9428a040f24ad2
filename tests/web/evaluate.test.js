// The demo page's Evaluate panel in Debian's Chromium (playwright-core), on the real API: a task
// file picked in the page is scored in the model's worker, the progress bar reaches 100%, and the
// table shows the same acc / acc_norm (and stderr) as llm.evaluate() computes in Node for the
// same file; Stop ends a long evaluation and the model stays usable. No console errors.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { startServe } from '../../tools/serve.js';
import { MobileLLM } from '../../worker/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
const DOCS = [
  { context: 'In the beginning God created the heaven and the', choices: ['earth.', 'sea.', 'fish of the sea.'], gold: 0 },
  { context: 'And God said, Let there be', choices: ['light: and there was light.', 'darkness upon the deep.'], gold: 0 },
  { context: 'The LORD is my shepherd; I shall not', choices: ['want.', 'eat bread.', 'go down to Egypt.'], gold: 0 },
  { context: 'Jesus wept. And the Jews said, Behold how he', choices: ['loved him!', 'went away.'], gold: 0 },
];
const jsonl = (docs) => docs.map((d) => JSON.stringify(d)).join('\n') + '\n';
const pct = (x, se) => `${(100 * x).toFixed(1)}${se == null ? '' : ` ± ${(100 * se).toFixed(1)}`}`;

let work;
before(() => { work = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilellm-web-eval-')); });
after(() => { if (work) fs.rmSync(work, { recursive: true, force: true }); });

test('Evaluate panel: a picked task file is scored as llm.evaluate() scores it in Node, with progress; Stop ends a long run', async () => {
  const task = path.join(work, 'kjv.jsonl');
  fs.writeFileSync(task, jsonl(DOCS));
  const long = path.join(work, 'long.jsonl');
  fs.writeFileSync(long, jsonl(Array.from({ length: 400 }, (_, i) => DOCS[i % DOCS.length])));
  const llm = await MobileLLM.load(path.join(ROOT, 'models/default.gguf'), { cache: false });
  const want = (await llm.evaluate({ name: 'kjv.jsonl', text: jsonl(DOCS) })).results['kjv.jsonl'];
  await llm.unload();

  const srv = await startServe({ port: 0, isolate: true });
  const context = await chromium.launchPersistentContext(path.join(work, 'profile'), { executablePath: CHROMIUM, headless: true, args: FLAGS });
  const errors = [];
  try {
    const page = context.pages()[0] ?? await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${srv.url}/web/`);
    await page.waitForFunction(() => !document.getElementById('cache-usage').textContent.startsWith('Checking'), null, { timeout: 20000 });
    // Before a model is loaded: a clear message, not a failure.
    await page.setInputFiles('#eval-files', task);
    await page.click('#eval-btn');
    await page.waitForFunction(() => !document.getElementById('eval-error').hidden, null, { timeout: 5000 });
    assert.match(await page.textContent('#eval-error'), /Load a model first/);

    await page.click('#load-btn');
    await page.waitForFunction(() => !document.getElementById('model-card').hidden || !document.getElementById('load-error').hidden, null, { timeout: 60000 });
    assert.equal(await page.locator('#load-error').evaluate((e) => e.hidden), true);

    await page.click('#eval-btn');
    await page.waitForFunction(() => /Done in/.test(document.getElementById('eval-status').textContent)
      || !document.getElementById('eval-error').hidden, null, { timeout: 120000 });
    assert.equal(await page.locator('#eval-error').evaluate((e) => e.hidden), true, await page.textContent('#eval-error'));
    assert.equal(await page.getAttribute('#eval-progress', 'value'), '100');
    assert.match(await page.textContent('#eval-progress-text'), /kjv\.jsonl: 4 of 4 documents/);
    const row = await page.$$eval('#eval-body tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    assert.deepEqual(row, [['kjv.jsonl', 'generic', '4', pct(want.acc, want.acc_stderr), pct(want.acc_norm, want.acc_norm_stderr)]]);

    await page.setInputFiles('#eval-files', long);
    await page.click('#eval-btn');
    await page.waitForFunction(() => Number(document.getElementById('eval-progress').value) > 0, null, { timeout: 60000 });
    await page.click('#eval-stop-btn');
    await page.waitForFunction(() => /Stopped/.test(document.getElementById('eval-status').textContent), null, { timeout: 20000 });
    assert.equal(await page.isDisabled('#eval-btn'), false);
    assert.equal(await page.isDisabled('#gen-btn'), false, 'the model is still loaded and usable');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await srv.close();
  }
});
