// `mobilellm eval` / evaluate(): every task layout scored against tests/ref/eval_ref.py (the
// harness's templates, tokenization and scoring rules transcribed in Python over the PyTorch
// reference model) on random checkpoints; shared-prefix and batched scoring against from-scratch scoring;
// rolling-window perplexity; TriviaQA's greedy answers on the bundled model's checkpoint; and
// the named errors bad task files get.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

import { Engine } from '../../wasm_build/engine.js';
import { buildGGUF, convertHF, dirFiles } from '../../models/convert/convert.js';
import { GGUF_ARCH, archKey } from '../../lib/gguf_keys.js';
import { evaluate } from '../../worker/eval/evaluate.js';
import { parseTask, parsePyLiteral, hellaswagPreprocess, pyCapitalize } from '../../worker/eval/tasks.js';
import { scoreGenerated, meanStderr } from '../../worker/eval/metrics.js';
import { checkpoints, python, scratchDir, ROOT } from '../ref/fixtures.js';

const TOL = 1e-4; // |ours - reference| per document and choice, nats
const quiet = { onWarning: () => {} };
const jsonl = (docs) => docs.map((d) => JSON.stringify(d)).join('\n') + '\n';

// Made-up documents in the layouts the datasets ship in on the Hugging Face hub.
const TASKS = {
  generic: [
    { context: 'Kami toro del pomi', choices: ['vi ste.', 'an ruka', 'mon el sa qu'], gold: 1 },
    { context: '', choices: ['Ka to ri', 'el sa'], gold: 0 },
    { context: 'Rila der po  ', choices: ['la vi', 'ngor the'], gold: 1 },
  ],
  arc: [
    { id: 'a1', question: 'Which vimon tokas the ruel?', choices: { text: ['sa quin', 'dermo', 'the laka of', 'ri'], label: ['A', 'B', 'C', 'D'] }, answerKey: 'C' },
    { id: 'a2', question: 'Tori is made of what?', choices: { text: ['Monel stein.', 'Pola ving.', 'Zürich café'], label: ['1', '2', '3'] }, answerKey: '2' },
  ],
  openbookqa: [
    { id: 'o1', question_stem: 'The sun is a', choices: { text: ['star', 'kaster', 'ri of mon', 'planet'], label: ['A', 'B', 'C', 'D'] }, answerKey: 'A' },
    { id: 'o2', question_stem: 'Elsa quin the', choices: { text: ['po', 'la', 'vi', 'anste'], label: ['A', 'B', 'C', 'D'] }, answerKey: ' D' },
  ],
  boolq: [
    { question: 'is kato ri the mon', passage: 'Kato ri is the mon of elsa. It quin der po.', answer: true },
    { question: 'does vi ste an', passage: 'Ruminor the and is of ka.\nTo ri mon el.', answer: false },
  ],
  piqa: [
    { goal: 'To kaster the rimon', sol1: 'put it in the elsa', sol2: 'quin derpo la vi', label: 0 },
    { goal: 'How to an ste ru?', sol1: 'Mi ng or.', sol2: 'The and is of ka to.', label: 1 },
  ],
  siqa: [
    { context: 'Kato went to the mon.', question: 'What will Kato want to do next?', answerA: 'ri el', answerB: 'sa qu in', answerC: 'der', label: '2' },
    { context: 'Elsa quin der po la.', question: 'How would you describe Elsa?', answerA: 'vian', answerB: 'steru', answerC: 'minor the', label: '3' },
  ],
  hellaswag: [
    { ind: 4, activity_label: 'Kato ri', ctx_a: 'A man is kaster the mon.', ctx_b: 'HE then [title] elsa the', endings: ['quin der po la vi.', 'an ste [header] ru mi.', 'ng or  the and.', 'is of ka to.'], label: '3' },
    { ind: 9, activity_label: 'Elsa', ctx_a: 'Monel sa quin derpo.', ctx_b: 'la vian ste', endings: ['ru mi ng.', 'or the and is of.', 'kato ri mon el sa qu in der.', 'po.'], label: 0 },
  ],
  winogrande: [
    { sentence: 'Kato gave the mon to Elsa because _ was ruminor the day.', option1: 'Kato', option2: 'Elsa', answer: '2' },
    { sentence: '_ quin der po la vi an ste.', option1: 'The ruka', option2: 'Mi ngor', answer: '1' },
  ],
  race: [
    { example_id: 'r1', article: 'Kato ri mon el sa. Quin der po la vi an ste ru mi.', question: 'Kato ri  _  .', options: ['mon', 'el', 'sa', 'qu'], answer: 'A' },
    { example_id: 'r1', article: 'Kato ri mon el sa. Quin der po la vi an ste ru mi.', question: 'What is quin?', options: ['der po', 'la vi', 'an', 'ste ru'], answer: 'B' },
    { example_id: 'r2', article: 'The and is of ka to.', question: 'Which is of ka?', options: ['the', 'and', 'is', 'to'], answer: 'D' },
  ],
  race_eleuther: [
    { article: 'Elsa quin der po.', problems: "[{'answer': 'C', 'options': ['la', 'vi', 'an', 'ste'], 'question': 'Elsa is\\'s  _  .'}, {'answer': 'A', 'options': ['ru', 'mi', 'ng', 'or'], 'question': \"What's der?\"}]" },
  ],
};
const FORMAT_OF = { race_eleuther: 'race' };

let ck, eng, work, ref, refNoBos;
const models = {};

before(async () => {
  ck = checkpoints();
  work = scratchDir('eval-test');
  eng = await Engine.create();
  for (const name of ['ls_tied_gqa', 'untied_gqa']) models[name] = eng.loadModel(await convertHF(ck.dir(name), { type: 'f32', ...quiet }));
  ref = runRef({ dir: ck.dir('ls_tied_gqa'), bos: true, tasks: refTasks() });
  refNoBos = runRef({ dir: ck.dir('untied_gqa'), bos: false, tasks: refTasks() });
});

function refTasks() {
  return Object.entries(TASKS).map(([name, docs]) => ({ name, format: FORMAT_OF[name] ?? name, text: jsonl(docs) }));
}

function runRef(job) {
  const f = path.join(work, `job-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(f, JSON.stringify(job));
  return JSON.parse(python(['tests/ref/eval_ref.py', f]));
}

const ourTasks = () => Object.entries(TASKS).map(([name, docs]) => ({ name, text: jsonl(docs) }));

function compare(t, ours, theirs, label) {
  let worst = 0;
  for (const [name, r] of Object.entries(theirs.tasks)) {
    const docs = ours.log.filter((x) => x.task === name);
    assert.equal(docs.length, r.docs.length, `${label} ${name}: documents`);
    r.docs.forEach((d, i) => {
      assert.equal(docs[i].gold, d.gold, `${label} ${name} doc ${i}: gold`);
      assert.equal(docs[i].lls.length, d.lls.length);
      d.lls.forEach((ll, c) => {
        const diff = Math.abs(docs[i].lls[c] - ll);
        worst = Math.max(worst, diff);
        assert.ok(diff <= TOL, `${label} ${name} doc ${i} choice ${c}: ours ${docs[i].lls[c]}, reference ${ll}`);
      });
      assert.deepEqual(docs[i].greedy, d.greedy, `${label} ${name} doc ${i}: is_greedy`);
    });
    const o = ours.results[name];
    for (const k of ['acc', 'acc_norm', 'acc_bytes']) {
      assert.equal(o[k], +r[k].toFixed(6), `${label} ${name} ${k}`);
      assert.equal(o[`${k}_stderr`], r[`${k}_stderr`] === null ? null : +r[`${k}_stderr`].toFixed(6), `${label} ${name} ${k}_stderr`);
    }
    assert.equal(o.n, r.docs.length);
  }
  t.diagnostic(`${label}: worst |ll - reference| = ${worst.toExponential(2)} over ${Object.keys(theirs.tasks).length} layouts`);
}

test(`every task layout: per-choice log-likelihoods within ${TOL} of the harness rules in PyTorch, identical acc / acc_norm / acc_bytes and stderr`, async (t) => {
  const layouts = new Set(Object.keys(TASKS).map((n) => FORMAT_OF[n] ?? n));
  assert.equal(layouts.size, 9);
  compare(t, await evaluate(models.ls_tied_gqa, ourTasks(), { log: true }), ref, 'BOS');
  compare(t, await evaluate(models.untied_gqa, ourTasks(), { log: true, bos: false }), refNoBos, 'no BOS');
  // the layouts were detected, not named
  const r = await evaluate(models.ls_tied_gqa, ourTasks(), {});
  for (const [name, res] of Object.entries(r.results)) assert.equal(res.format, FORMAT_OF[name] ?? name);
});

test('shared-prefix scoring gives the same log-likelihoods as scoring each context + choice from scratch', async (t) => {
  for (const m of Object.values(models)) {
    const a = await evaluate(m, ourTasks(), { log: true });
    const b = await evaluate(m, ourTasks(), { log: true, shared: false });
    let worst = 0;
    a.log.forEach((x, i) => x.lls.forEach((ll, c) => { worst = Math.max(worst, Math.abs(ll - b.log[i].lls[c])); }));
    t.diagnostic(`max |shared - scratch| = ${worst}`);
    assert.ok(worst <= 1e-6, `shared vs scratch differ by ${worst}`);
    assert.deepEqual(a.results.hellaswag.acc, b.results.hellaswag.acc);
  }
});

test('batched scoring (several documents per forward pass) gives bit-identical log-likelihoods to one document at a time and to from scratch, at any batch size', async () => {
  for (const m of Object.values(models)) {
    const one = await evaluate(m, ourTasks(), { log: true, batch: 0 });
    const scratch = await evaluate(m, ourTasks(), { log: true, shared: false });
    // default (512): whole documents packed together; 12: most documents larger than a batch (their
    // contexts first, the choices batched after them); 3: choices longer than a batch too
    for (const batch of [undefined, 12, 3]) {
      const b = await evaluate(m, ourTasks(), { log: true, batch });
      assert.deepEqual(b.log.map((x) => x.lls), one.log.map((x) => x.lls), `batch ${batch} vs one at a time`);
      assert.deepEqual(b.log.map((x) => x.greedy), one.log.map((x) => x.greedy));
      assert.deepEqual(b.results.hellaswag.acc_norm, one.results.hellaswag.acc_norm);
    }
    assert.deepEqual(one.log.map((x) => x.lls), scratch.log.map((x) => x.lls), 'one at a time vs from scratch');
  }
  // a model with sliding-window layers, which the engine does not batch: scored one document at a time
  const files = await dirFiles(ck.dir('untied_gqa'));
  let windowed;
  try {
    const { writer } = buildGGUF(files, { type: 'f32', ...quiet });
    writer.addU32(archKey('llama', GGUF_ARCH.SLIDING_WINDOW), 8);
    windowed = eng.loadModel(writer.toBuffer());
  } finally {
    files.close?.();
  }
  const w = await evaluate(windowed, ourTasks(), { log: true });
  assert.deepEqual(w.log.map((x) => x.lls), (await evaluate(windowed, ourTasks(), { log: true, batch: 0 })).log.map((x) => x.lls));
  windowed.free();
});

test('rolling-window perplexity equals the harness\'s loglikelihood_rolling windows in PyTorch (stride = window and stride < window)', async (t) => {
  const text = fs.readFileSync(path.join(ck.dir('ls_tied_gqa'), 'config.json'), 'utf8').replace(/[{}":,_]/g, ' ')
    + ' Kato ri mon el sa quin der po la vi an ste ru mi ng or the and is of. '.repeat(6);
  const cases = [{ ctx: 64, stride: 64 }, { ctx: 48, stride: 20 }];
  const theirs = runRef({ dir: ck.dir('ls_tied_gqa'), perplexity: cases.map((c, i) => ({ name: `p${i}`, text, ...c })) });
  for (const [i, c] of cases.entries()) {
    const ours = (await evaluate(models.ls_tied_gqa, [{ name: 'p', perplexity: text }], c)).results.p;
    const r = theirs.perplexity[`p${i}`];
    t.diagnostic(`ctx ${c.ctx} stride ${c.stride}: ${r.tokens} tokens, ${r.windows} windows, ll ours ${ours.loglikelihood} reference ${r.loglikelihood.toFixed(4)}`);
    assert.ok(r.windows >= 3, 'several windows');
    assert.equal(ours.tokens, r.tokens);
    assert.equal(ours.windows, r.windows);
    assert.ok(Math.abs(ours.loglikelihood - r.loglikelihood) <= 1e-3, `ll ${ours.loglikelihood} vs ${r.loglikelihood}`);
    assert.equal(ours.token_perplexity, +Math.exp(-r.loglikelihood / r.tokens).toFixed(4));
    assert.equal(ours.bytes, Buffer.byteLength(text));
  }
});

test('TriviaQA: greedy answers cut at the first stop string and exact match equal the reference on the bundled model\'s checkpoint', async (t) => {
  const dir = path.join(ROOT, 'models/default');
  const docs = [
    { question: 'Who created the heaven and the earth', question_id: 'q1', answer: { aliases: ['God', 'The LORD'], value: 'God' } },
    { question: 'And the LORD said unto Moses', question_id: 'q2', answer: { aliases: ['Go'], value: 'Go' } },
    { question: 'What did the LORD say', question_id: 'q3', answer: { aliases: ['Behold'], value: 'Behold' } },
  ];
  const text = jsonl(docs);
  const theirs = runRef({ dir, bos: true, max_gen_tokens: 12, tasks: [{ name: 'tqa', format: 'triviaqa', text }] }).tasks.tqa;
  const model = eng.loadModel(await convertHF(dir, { type: 'f32', ...quiet }));
  try {
    const ours = await evaluate(model, [{ name: 'tqa', text }], { log: true, maxGenTokens: 12 });
    ours.log.forEach((x, i) => {
      t.diagnostic(`${JSON.stringify(docs[i].question)} -> ${JSON.stringify(x.output)} (reference ${JSON.stringify(theirs.docs[i].output)})`);
      assert.equal(x.output.trim(), theirs.docs[i].output.trim());
      assert.equal(x.exact_match, theirs.docs[i].exact_match);
    });
    assert.equal(ours.results.tqa.format, 'triviaqa');
    assert.equal(ours.results.tqa.exact_match, +theirs.exact_match.toFixed(6));
  } finally {
    model.free();
  }
});

test('exact match normalizes as the harness does: case and string.punctuation ignored, surrounding whitespace stripped', () => {
  assert.equal(scoreGenerated(' The Beatles!', ['the beatles']).exact_match, 1);
  assert.equal(scoreGenerated('U.S.A', ['USA', 'America']).exact_match, 1);
  assert.equal(scoreGenerated('the  beatles', ['the beatles']).exact_match, 0); // inner spaces count
  assert.equal(scoreGenerated('Zürich', ['zürich']).exact_match, 1);
  // mean_stderr: sample std / sqrt(n); for 0/1 values mean 0.5 over 4: sqrt(1/3)/2
  assert.equal(meanStderr([1, 0, 1, 0]), Math.sqrt(1 / 3) / 2);
});

test('task templates: HellaSwag preprocessing and capitalize, ARC / BoolQ / SIQA / WinoGrande / RACE prompts as the harness writes them', () => {
  assert.equal(hellaswagPreprocess(' Kato: a man [title] runs  [step] fast. '), 'Kato: a man. runs  fast.');
  assert.equal(pyCapitalize('hE THEN'), 'He then');
  const one = (format, d) => parseTask(JSON.stringify(d), { format }).items[0];
  const hs = one('hellaswag', TASKS.hellaswag[0]);
  assert.equal(hs.requests[0].context, 'Kato ri: A man is kaster the mon. He then. elsa the');
  assert.equal(hs.requests[1].continuation, ' an ste ru mi.');
  assert.equal(hs.gold, 3);
  const arc = one('arc', TASKS.arc[1]);
  assert.deepEqual(arc.requests.map((r) => r.context + r.continuation), ['Question: Tori is made of what?\nAnswer: Monel stein.',
    'Question: Tori is made of what?\nAnswer: Pola ving.', 'Question: Tori is made of what?\nAnswer: Zürich café']);
  assert.equal(arc.gold, 1);
  assert.equal(one('boolq', TASKS.boolq[1]).requests[0].context, 'Ruminor the and is of ka.\nTo ri mon el.\nQuestion: does vi ste an?\nAnswer:');
  assert.equal(one('siqa', TASKS.siqa[0]).requests[2].context, 'Q: Kato went to the mon. What will Kato want to do next?\nA:');
  const wg = one('winogrande', TASKS.winogrande[0]);
  assert.deepEqual(wg.requests, [
    { context: 'Kato gave the mon to Elsa because Kato', continuation: ' was ruminor the day.' },
    { context: 'Kato gave the mon to Elsa because Elsa', continuation: ' was ruminor the day.' }]);
  assert.equal(wg.gold, 1);
  const race = parseTask(jsonl(TASKS.race), {});
  assert.equal(race.items.length, 2); // consecutive questions of one article are one document
  assert.equal(race.items[0].requests[0].context,
    'Article: Kato ri mon el sa. Quin der po la vi an ste ru mi.\n\nKato ri mon\nWhat is quin?');
  const re = parseTask(jsonl(TASKS.race_eleuther), {}).items[0];
  assert.equal(re.requests[0].context, "Article: Elsa quin der po.\n\nElsa is's an\nWhat's der?");
  assert.deepEqual(parsePyLiteral("[{'a': \"it's\", 'b': [1, -2.5, True, None]}, ('x\\n',)]"), [{ a: "it's", b: [1, -2.5, true, null] }, ['x\n']]);
  const shots = parseTask(jsonl(TASKS.piqa), { shots: 1 }).items[0];
  assert.equal(shots.requests[0].context, 'Question: How to an ste ru?\nAnswer: The and is of ka to.\n\nQuestion: To kaster the rimon\nAnswer:');
});

test('bad task files are named errors pointing at the line: bad JSON, unknown layout, missing fields, gold out of range, empty choices, too long for the context', async () => {
  const m = models.ls_tied_gqa;
  const bad = async (text, re, opts = {}, code = 'format') => {
    await assert.rejects(evaluate(m, [{ name: 'bad.jsonl', text, ...opts.task }], opts.eval ?? {}), (e) => {
      assert.equal(e.code, code, e.message);
      assert.match(e.message, re);
      return true;
    });
  };
  const ok = JSON.stringify(TASKS.generic[0]);
  await bad(`${ok}\n{"context": "a", "choices": ["b"], gold: 0}\n`, /^bad\.jsonl line 2: not valid JSON/);
  await bad('{"prompt": "a", "answer": "b"}\n', /^bad\.jsonl line 1: the fields \["prompt","answer"\] match no known task layout/);
  await bad(`${ok}\n\n{"context": "a", "gold": 0}\n`, /^bad\.jsonl line 3 \(generic\): field 'choices' must be a non-empty list of strings\.$/);
  await bad(`${ok}\n{"context": "a", "choices": ["b", "c"], "gold": 2}\n`, /^bad\.jsonl line 2 \(generic\): gold answer 2 is out of range for 2 choices\.$/);
  await bad(`{"context": "a", "choices": [], "gold": 0}\n`, /^bad\.jsonl line 1 \(generic\): field 'choices' must be a non-empty list/);
  await bad(`{"context": "a", "choices": ["b", ""], "gold": 0}\n`, /^bad\.jsonl line 1 \(generic\): choice 1 is empty\.$/);
  await bad(jsonl([TASKS.arc[0], { ...TASKS.arc[1], answerKey: 'E' }]), /^bad\.jsonl line 2 \(arc\): answerKey "E" is not one of the labels/);
  await bad(jsonl([{ ...TASKS.winogrande[0], sentence: 'no blank here' }]), /^bad\.jsonl line 1 \(winogrande\): field 'sentence' has no blank/);
  await bad(jsonl([{ ...TASKS.hellaswag[0], label: '4' }]), /^bad\.jsonl line 1 \(hellaswag\): gold answer 4 is out of range for 4 choices/);
  await bad(jsonl([TASKS.siqa[0], { ...TASKS.siqa[1], answerC: 7 }]), /^bad\.jsonl line 2 \(siqa\): field 'answerC' must be a string/);
  await bad(jsonl([TASKS.generic[0], { context: 'mon el sa '.repeat(20), choices: ['a', 'b'], gold: 0 }]),
    /^bad\.jsonl line 2: the context with choice 0 is \d+ tokens but the context holds 32\.$/, { eval: { nCtx: 32 } }, 'context_full');
  await bad('', /holds no JSON lines/);
  await bad(ok, /Unknown task format 'mmlu'/, { task: { format: 'mmlu' } });
});

test('mobilellm eval: JSON results per task file, --output writes one line per document, usage errors exit 2', () => {
  const dir = path.join(work, 'cli');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'piqa.jsonl'), jsonl(TASKS.piqa));
  fs.writeFileSync(path.join(dir, 'text.txt'), 'In the beginning God created the heaven and the earth.\n');
  const cli = (...args) => spawnSync(process.execPath, [path.join(ROOT, 'bin/mobilellm.js'), 'eval', ...args], { encoding: 'utf8' });
  const r = cli('--task', path.join(dir, 'piqa.jsonl'), '--perplexity', path.join(dir, 'text.txt'), '--output', path.join(dir, 'log.jsonl'));
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.results['piqa.jsonl'].format, 'piqa');
  assert.equal(out.results['piqa.jsonl'].n, 2);
  assert.ok(out.results['text.txt'].token_perplexity > 1);
  const log = fs.readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(log.map((x) => [x.task, x.line, x.lls.length]), [['piqa.jsonl', 1, 2], ['piqa.jsonl', 2, 2]]);
  const u = cli();
  assert.equal(u.status, 2);
  assert.match(u.stderr, /eval needs --task FILE\.jsonl or --perplexity FILE/);
  const b = cli('--task', path.join(dir, 'text.txt'));
  assert.equal(b.status, 1);
  assert.match(b.stderr, /text\.txt line 1: not valid JSON/);
});

test('llm.evaluate() in the worker: the same scores as evaluate() on the engine, progress events, an AbortSignal stops it', async () => {
  const { MobileLLM } = await import('../../worker/index.js');
  const gguf = path.join(work, 'ls_tied_gqa.gguf');
  fs.writeFileSync(gguf, await convertHF(ck.dir('ls_tied_gqa'), { type: 'f32', ...quiet }));
  const llm = await MobileLLM.load(gguf, { cache: false });
  try {
    const progress = [];
    const tasks = [jsonl(TASKS.piqa), { name: 'hs', text: new Blob([jsonl(TASKS.hellaswag)]) }, { name: 'ppl', perplexity: 'Kato ri mon el sa quin.' }];
    const r = await llm.evaluate(tasks, { log: true, onProgress: (p) => progress.push(p) });
    const direct = await evaluate(models.ls_tied_gqa, [{ name: 'task1', text: jsonl(TASKS.piqa) }, { name: 'hs', text: jsonl(TASKS.hellaswag) },
      { name: 'ppl', perplexity: 'Kato ri mon el sa quin.' }], { log: true });
    assert.deepEqual(r.log, direct.log);
    for (const k of ['task1', 'hs']) assert.equal(r.results[k].acc_norm, direct.results[k].acc_norm);
    assert.equal(r.results.ppl.loglikelihood, direct.results.ppl.loglikelihood);
    assert.deepEqual(progress.filter((p) => p.task === 'hs'), [{ task: 'hs', done: 1, total: 2 }, { task: 'hs', done: 2, total: 2 }]);
    const ac = new AbortController();
    const many = jsonl(Array.from({ length: 200 }, () => TASKS.hellaswag[0]));
    const p = llm.evaluate(many, { signal: ac.signal, onProgress: ({ done }) => { if (done === 3) ac.abort(); } });
    await assert.rejects(p, (e) => e.code === 'aborted' && /after \d+ of 200 documents/.test(e.message));
    await assert.rejects(llm.evaluate({ nope: 1 }), (e) => e.code === 'argument');
    // the model is still usable
    assert.equal((await llm.evaluate(jsonl(TASKS.piqa))).results.task1.n, 2);
  } finally {
    await llm.unload();
  }
});

test('evaluation options out of range are argument errors naming the option, before anything is scored', async () => {
  const m = models.ls_tied_gqa;
  const task = [{ name: 't', text: jsonl(TASKS.piqa) }];
  const bad = (o, re) => assert.rejects(evaluate(m, task, o), (e) => e.code === 'argument' && re.test(e.message));
  await bad({ limit: 0 }, /option limit must be an integer from 1/);
  await bad({ shots: 1.5 }, /option shots must be an integer from 0/);
  await bad({ ctx: 64, stride: 65 }, /stride \(65\) cannot exceed the window \(64\)/);
  await bad({ ctx: 513 }, /option ctx must be an integer from 1 to 512 \(this model's context_length\)/);
  await assert.rejects(evaluate(m, task, { shots: 2 }), (e) => e.code === 'format' && /2 shots need more than 2 documents/.test(e.message));
  await assert.rejects(evaluate(m, [], {}), (e) => e.code === 'argument');
});
