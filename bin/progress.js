// progress.js — the CLI's progress line: one line on stderr, rewritten in place, for downloads
// (bytes, rate, time left, where a resumed download restarted), conversion (tensor i of n) and
// loading. Only on a terminal and without --quiet; elsewhere it writes nothing.

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** 1234567 -> '1.2 MB' (decimal units, as download tools show them). @param {number} n */
export function formatBytes(n) {
  let i = 0;
  while (n >= 1000 && i < UNITS.length - 1) { n /= 1000; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${UNITS[i]}`;
}

/** Seconds as '42s', '3m05s' or '1h02m'. @param {number} s */
export function formatDuration(s) {
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}

/**
 * The text of one progress event (the API's onProgress shape).
 * @param {{phase: string, loaded?: number, total?: number|null, rate?: number, resumedFrom?: number,
 *   file?: string, tensor?: number, tensors?: number, name?: string}} p
 * @returns {string}
 */
export function progressText(p) {
  if (p.phase === 'convert' && p.tensor) return `converting: tensor ${p.tensor} of ${p.tensors}${p.name ? ` (${p.name})` : ''}`;
  const loaded = p.loaded ?? 0, total = p.total ?? null;
  const amount = total ? `${formatBytes(loaded)} of ${formatBytes(total)} (${Math.floor((100 * loaded) / total)}%)` : formatBytes(loaded);
  if (p.phase === 'download') {
    const parts = [`downloading${p.file ? ` ${p.file}` : ''}: ${amount}`];
    if (p.rate) parts.push(`${formatBytes(p.rate)}/s`);
    if (p.rate && total) parts.push(`${formatDuration((total - loaded) / p.rate)} left`);
    if (p.resumedFrom) parts.push(`resumed from ${formatBytes(p.resumedFrom)}`);
    return parts.join(', ');
  }
  const verb = { load: 'loading', verify: 'verifying the cache', convert: 'converting' }[p.phase] ?? p.phase;
  return `${verb}: ${amount}`;
}

/**
 * A progress line on `stream` when it is a terminal and `quiet` is false; otherwise a no-op.
 * `update(event)` redraws at most every 100 ms (and always at a phase's start and end); `done()`
 * clears the line, so what follows starts on a clean one.
 * @param {{isTTY?: boolean, columns?: number, write: (s: string) => any}} stream
 * @param {{quiet?: boolean, now?: () => number}} [o]
 */
export function progressLine(stream, { quiet = false, now = () => performance.now() } = {}) {
  const on = !!stream.isTTY && !quiet;
  let last = -Infinity, shown = false, phase = '';
  return {
    /** @param {Parameters<typeof progressText>[0]} p */
    update(p) {
      if (!on) return;
      const t = now();
      const end = (p.total != null && p.loaded === p.total) || (p.tensors !== undefined && p.tensor === p.tensors);
      if (t - last < 100 && !end && p.phase === phase) return;
      last = t;
      phase = p.phase;
      const width = Math.max(20, (stream.columns || 80) - 1); // a terminal of unknown size reports 0
      stream.write(`\r\x1b[K${progressText(p).slice(0, width)}`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
