// chat.js — the demo page's Chat panel: a message list over llm.chat.completions.create() (the
// model's chat template, or the plain fallback), the reply streamed into the list, Stop, Clear.
// The conversation is kept here and resent each turn; the API's prompt cache reads only what
// a turn adds.

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/**
 * @param {() => any} getModel the page's loaded MobileLLM, or null
 * @param {(el: HTMLElement, title: string, detail?: string) => void} showMessage
 * @param {() => ({opts: Record<string, number>} | {problem: string})} readSampling the Generate panel's settings
 * @param {(e: any) => string} errorText
 */
export function attachChat(getModel, showMessage, readSampling, errorText) {
  /** @type {{role: string, content: string}[]} */
  let history = [];
  /** @type {AbortController|null} */
  let ctl = null;
  const log = $('chat-log');
  const setRunning = (on) => {
    $('chat-send').disabled = on;
    $('chat-stop').disabled = !on;
    log.setAttribute('aria-busy', on ? 'true' : 'false');
  };
  /** A message in the list. @param {string} role @param {string} text */
  const bubble = (role, text) => {
    const li = document.createElement('li');
    li.className = `msg ${role}`;
    li.dataset.role = role;
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = role === 'user' ? 'You' : 'Model';
    const body = document.createElement('span');
    body.className = 'body';
    body.textContent = text;
    li.append(who, body);
    log.append(li);
    log.scrollTop = log.scrollHeight;
    return body;
  };

  $('chat-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (ctl) return;
    const err = $('chat-error');
    err.hidden = true;
    const llm = getModel();
    const text = $('chat-input').value;
    if (!llm) { showMessage(err, 'Load a model first.'); return; }
    if (!text.trim()) { showMessage(err, 'Nothing to send.', 'Write a message first.'); return; }
    const s = readSampling();
    if ('problem' in s) { showMessage(err, 'Check the sampling settings.', s.problem); return; }
    const system = $('chat-system').value.trim();
    const turn = history; // Clear during the reply starts a new list; this turn stays in its own
    turn.push({ role: 'user', content: text });
    bubble('user', text);
    $('chat-input').value = '';
    const body = bubble('assistant', '');
    body.parentElement.classList.add('running');
    ctl = new AbortController();
    setRunning(true);
    let reply = '';
    try {
      const stream = await llm.chat.completions.create({
        messages: [...(system ? [{ role: 'system', content: system }] : []), ...turn], stream: true, signal: ctl.signal,
        max_tokens: s.opts.maxTokens, temperature: s.opts.temperature, top_p: s.opts.topP, top_k: s.opts.topK, seed: s.opts.seed,
      });
      for await (const c of stream) {
        const d = c.choices[0]?.delta?.content;
        if (d) { reply += d; body.textContent = reply; log.scrollTop = log.scrollHeight; }
        if (c.usage) body.parentElement.dataset.tokens = String(c.usage.completion_tokens);
      }
    } catch (e2) {
      if (e2?.code !== 'aborted') showMessage(err, 'The reply failed.', errorText(e2));
    } finally {
      body.parentElement.classList.remove('running');
      body.parentElement.dataset.done = 'true';
      turn.push({ role: 'assistant', content: reply });
      ctl = null;
      setRunning(false);
    }
  });
  $('chat-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); $('chat-form').requestSubmit(); }
  });
  $('chat-stop').addEventListener('click', () => ctl?.abort());
  $('chat-clear').addEventListener('click', () => {
    ctl?.abort();
    history = [];
    log.replaceChildren();
    $('chat-error').hidden = true;
  });
}
