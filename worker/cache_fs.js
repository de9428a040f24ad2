// cache_fs.js — Node's cache store: a directory per entry (named by a hash of its key) holding
// meta.json and one data file, which chunks are written into at their offsets. Writes check the
// entry's generation (meta.json) before and after the bytes go in and never re-create a deleted
// entry's directory; a delete renames the directory away in one step; one writer per entry
// across processes holds a lock file (locks/).

import { CHUNK_SIZE, EntryGoneError, newGeneration } from './cache_entry.js';
import { nodeBuiltin } from '../lib/node_builtin.js';

/** A held lock's file is touched this often; one untouched for LOCK_STALE_MS has a dead owner. */
const LOCK_BEAT_MS = 1000;
const LOCK_STALE_MS = 10_000;

/** @typedef {import('./cache_entry.js').Store} Store */

/** @implements {Store} */
export class FsStore {
  /** @param {string} root the cache directory */
  constructor(root) {
    this.kind = 'fs';
    this.root = root;
  }

  async mods() {
    if (!this.m) {
      const [fs, path, crypto] = await Promise.all([nodeBuiltin('fs'), nodeBuiltin('path'), nodeBuiltin('crypto')]);
      this.m = { fs, path, crypto };
      fs.mkdirSync(path.join(this.root, 'entries'), { recursive: true });
    }
    return this.m;
  }

  /** @param {string} id */
  dirOf(id) {
    const { path, crypto } = this.m;
    return path.join(this.root, 'entries', crypto.createHash('sha256').update(id).digest('hex').slice(0, 32));
  }

  /** @param {string} id */
  dataPath(id) { return this.m.path.join(this.dirOf(id), 'data'); }

  async getMeta(id) {
    await this.mods();
    return this.#readMeta(id);
  }

  /** @param {string} id @returns {import('./cache_entry.js').EntryMeta|null} */
  #readMeta(id) {
    const { fs, path } = this.m;
    try {
      const meta = JSON.parse(fs.readFileSync(path.join(this.dirOf(id), 'meta.json'), 'utf8'));
      return meta?.id === id ? meta : null;
    } catch {
      return null;
    }
  }

  /**
   * The generation check of a write: the stored meta carries meta.gen, or (creating) there is
   * none and the entry's directory is made. A writer never makes the directory otherwise, so a
   * deleted entry's directory cannot come back.
   */
  #checkGen(meta, o, make = true) {
    const cur = this.#readMeta(meta.id);
    if (cur ? cur.gen !== meta.gen : !o.create) throw new EntryGoneError(meta.id, 'being written');
    if (!cur && make) this.m.fs.mkdirSync(this.dirOf(meta.id), { recursive: true });
  }

  /** meta.json replaced atomically; fails (the entry is gone) when its directory was deleted. */
  #writeMeta(meta) {
    const { fs, path } = this.m;
    const dir = this.dirOf(meta.id);
    const tmp = path.join(dir, `meta.json.${process.pid}.${newGeneration()}.tmp`);
    try {
      fs.writeFileSync(tmp, JSON.stringify(meta));
      fs.renameSync(tmp, path.join(dir, 'meta.json')); // a crash leaves the old or the new meta
    } catch (e) {
      if (e?.code === 'ENOENT') throw new EntryGoneError(meta.id, 'being written');
      throw e;
    }
  }

  async putMeta(meta, o = {}) {
    await this.mods();
    this.#checkGen(meta, o);
    this.#writeMeta(meta);
  }

  async putChunk(meta, index, bytes, o = {}) {
    const { fs } = await this.mods();
    this.#checkGen(meta, o);
    let fh;
    try {
      fh = await fs.promises.open(this.dataPath(meta.id), fs.existsSync(this.dataPath(meta.id)) ? 'r+' : o.create ? 'w+' : 'r+');
    } catch (e) {
      if (e?.code === 'ENOENT') throw new EntryGoneError(meta.id, 'being written');
      throw e;
    }
    try {
      const at = index * meta.chunkSize;
      for (let done = 0; done < bytes.length;) done += (await fh.write(bytes, done, bytes.length - done, at + done)).bytesWritten;
      if ((await fh.stat()).size > at + bytes.length && index === meta.hashes.length - 1) await fh.truncate(at + bytes.length);
    } finally {
      await fh.close();
    }
    this.#checkGen(meta, o, false); // deleted while the bytes went in: no meta may follow them
    this.#writeMeta(meta);
  }

  async touch(meta) {
    await this.mods();
    const cur = this.#readMeta(meta.id);
    if (!cur || cur.gen !== meta.gen) return;
    try { this.#writeMeta({ ...cur, lastUsed: Date.now() }); } catch { /* deleted meanwhile: nothing to touch */ }
  }

  /** A reader's check after each chunk: the entry still holds generation `gen`. */
  #checkRead(id, gen) {
    const cur = this.#readMeta(id);
    if (!cur || cur.gen !== (gen ?? undefined)) throw new EntryGoneError(id, 'being read');
  }

  async getChunk(id, index, length, gen) {
    const { fs } = await this.mods();
    const meta = this.#readMeta(id);
    let fd;
    try { fd = fs.openSync(this.dataPath(id), 'r'); } catch {
      if (gen !== undefined) this.#checkRead(id, gen);
      return new Uint8Array(0);
    }
    try {
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const got = fs.readSync(fd, buf, done, length - done, index * (meta?.chunkSize ?? CHUNK_SIZE) + done);
        if (got === 0) break;
        done += got;
      }
      if (gen !== undefined) this.#checkRead(id, gen);
      return buf.subarray(0, done);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Read chunk `index` straight into `target` (no intermediate buffer); returns the bytes read. */
  async readChunkInto(meta, index, target) {
    const { fs } = await this.mods();
    let fd;
    try { fd = fs.openSync(this.dataPath(meta.id), 'r'); } catch {
      this.#checkRead(meta.id, meta.gen ?? null);
      return 0;
    }
    try {
      let done = 0;
      while (done < target.length) {
        const got = fs.readSync(fd, target, done, target.length - done, index * meta.chunkSize + done);
        if (got === 0) break;
        done += got;
      }
      this.#checkRead(meta.id, meta.gen ?? null);
      return done;
    } finally {
      fs.closeSync(fd);
    }
  }

  async deleteEntry(id) {
    const { fs, path } = await this.mods();
    // Renamed away first: the entry disappears in one step for every other process and thread.
    const trash = path.join(this.root, `trash-${process.pid}-${newGeneration()}`);
    try { fs.renameSync(this.dirOf(id), trash); } catch { return; }
    fs.rmSync(trash, { recursive: true, force: true });
  }

  async list() {
    const { fs, path } = await this.mods();
    const out = [];
    for (const d of fs.readdirSync(path.join(this.root, 'entries'))) {
      let m;
      try { m = JSON.parse(fs.readFileSync(path.join(this.root, 'entries', d, 'meta.json'), 'utf8')); } catch { continue; } // half-created
      let size = 0;
      try { size = fs.statSync(path.join(this.root, 'entries', d, 'data')).size; } catch { /* no bytes yet */ }
      const stored = Math.min(m.stored ?? 0, size); // what the data file really holds
      out.push(stored === m.stored ? m : { ...m, stored, complete: false });
    }
    return out;
  }

  async probe(bytes) {
    if (!(bytes > 0)) return;
    const { fs, path } = await this.mods();
    const p = path.join(this.root, `probe-${process.pid}-${newGeneration()}`);
    try {
      const fd = fs.openSync(p, 'w');
      try {
        const zero = new Uint8Array(Math.min(bytes, 1 << 20));
        for (let done = 0; done < bytes;) done += fs.writeSync(fd, zero, 0, Math.min(zero.length, bytes - done));
        fs.fsyncSync(fd); // a full disk may only say so here
      } finally {
        fs.closeSync(fd);
      }
    } finally {
      fs.rmSync(p, { force: true });
    }
  }

  /** @param {string} id */
  lockPath(id) { return this.m.path.join(this.root, 'locks', `${this.m.path.basename(this.dirOf(id))}.lock`); }

  /**
   * The entry's writer lock across processes and threads: a file made exclusively, holding the
   * owner's pid; its mtime is refreshed while held, so a dead owner's lock (a killed process, or
   * a terminated thread of a live one) goes stale and is taken over.
   * @param {string} id @param {AbortSignal} [signal]
   */
  async lock(id, signal) {
    const { fs, path } = await this.mods();
    fs.mkdirSync(path.join(this.root, 'locks'), { recursive: true });
    const p = this.lockPath(id);
    const token = `${process.pid} ${newGeneration()}`;
    for (;;) {
      if (signal?.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      try {
        fs.writeFileSync(p, token, { flag: 'wx' });
        break;
      } catch (e) {
        if (e?.code !== 'EEXIST') throw e;
      }
      if (!this.#lockLive(p)) { try { fs.unlinkSync(p); } catch { /* another waiter took it */ } continue; }
      await new Promise((r) => setTimeout(r, 50));
    }
    const beat = setInterval(() => { try { const t = new Date(); fs.utimesSync(p, t, t); } catch { /* released */ } }, LOCK_BEAT_MS);
    beat.unref?.();
    return async () => {
      clearInterval(beat);
      try { if (fs.readFileSync(p, 'utf8') === token) fs.unlinkSync(p); } catch { /* already gone */ }
    };
  }

  async isLocked(id) {
    await this.mods();
    return this.#lockLive(this.lockPath(id));
  }

  /** @param {string} p a lock file */
  #lockLive(p) {
    const { fs } = this.m;
    let st, pid;
    try {
      st = fs.statSync(p);
      pid = Number(fs.readFileSync(p, 'utf8').split(' ')[0]);
    } catch {
      return false;
    }
    if (Date.now() - st.mtimeMs > LOCK_STALE_MS) return false;
    if (!Number.isSafeInteger(pid) || pid <= 0) return Date.now() - st.mtimeMs < 1000; // being written
    try { process.kill(pid, 0); return true; } catch (e) { return e?.code === 'EPERM'; }
  }

  async estimate() {
    const { fs } = await this.mods();
    try {
      const s = await fs.promises.statfs(this.root);
      return { quota: s.blocks * s.bsize, free: s.bavail * s.bsize };
    } catch {
      return {};
    }
  }
}

/**
 * The default cache directory in Node: $MOBILELLM_CACHE_DIR, else $XDG_CACHE_HOME/mobilellm-wasm,
 * else ~/.cache/mobilellm-wasm.
 * @returns {Promise<string>}
 */
export async function defaultCacheDir() {
  const [os, path] = await Promise.all([nodeBuiltin('os'), nodeBuiltin('path')]);
  if (process.env.MOBILELLM_CACHE_DIR) return path.resolve(process.env.MOBILELLM_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME ? path.resolve(process.env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(base, 'mobilellm-wasm');
}
