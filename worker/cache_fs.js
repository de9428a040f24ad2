// cache_fs.js — Node's cache store: a directory per entry (named by a hash of its key) holding
// meta.json and one data file, which chunks are written into at their offsets.

import { CHUNK_SIZE } from './cache_entry.js';
import { nodeBuiltin } from '../lib/node_builtin.js';

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
    const { fs, path } = await this.mods();
    try {
      const meta = JSON.parse(fs.readFileSync(path.join(this.dirOf(id), 'meta.json'), 'utf8'));
      return meta?.id === id ? meta : null;
    } catch {
      return null;
    }
  }

  async putMeta(meta) {
    const { fs, path } = await this.mods();
    const dir = this.dirOf(meta.id);
    fs.mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `meta.json.${process.pid}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(meta));
    fs.renameSync(tmp, path.join(dir, 'meta.json')); // atomic: a crash leaves the old or the new meta
  }

  async putChunk(meta, index, bytes) {
    const { fs } = await this.mods();
    fs.mkdirSync(this.dirOf(meta.id), { recursive: true });
    const fh = await fs.promises.open(this.dataPath(meta.id), fs.existsSync(this.dataPath(meta.id)) ? 'r+' : 'w+');
    try {
      const at = index * meta.chunkSize;
      for (let done = 0; done < bytes.length;) done += (await fh.write(bytes, done, bytes.length - done, at + done)).bytesWritten;
      if ((await fh.stat()).size > at + bytes.length && index === meta.hashes.length - 1) await fh.truncate(at + bytes.length);
    } finally {
      await fh.close();
    }
    await this.putMeta(meta);
  }

  async getChunk(id, index, length) {
    const { fs } = await this.mods();
    const meta = await this.getMeta(id);
    let fd;
    try { fd = fs.openSync(this.dataPath(id), 'r'); } catch { return new Uint8Array(0); }
    try {
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const got = fs.readSync(fd, buf, done, length - done, index * (meta?.chunkSize ?? CHUNK_SIZE) + done);
        if (got === 0) break;
        done += got;
      }
      return buf.subarray(0, done);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Read chunk `index` straight into `target` (no intermediate buffer); returns the bytes read. */
  async readChunkInto(meta, index, target) {
    const { fs } = await this.mods();
    let fd;
    try { fd = fs.openSync(this.dataPath(meta.id), 'r'); } catch { return 0; }
    try {
      let done = 0;
      while (done < target.length) {
        const got = fs.readSync(fd, target, done, target.length - done, index * meta.chunkSize + done);
        if (got === 0) break;
        done += got;
      }
      return done;
    } finally {
      fs.closeSync(fd);
    }
  }

  async deleteEntry(id) {
    const { fs } = await this.mods();
    fs.rmSync(this.dirOf(id), { recursive: true, force: true });
  }

  async list() {
    const { fs, path } = await this.mods();
    const out = [];
    for (const d of fs.readdirSync(path.join(this.root, 'entries'))) {
      try { out.push(JSON.parse(fs.readFileSync(path.join(this.root, 'entries', d, 'meta.json'), 'utf8'))); } catch { /* half-created entry */ }
    }
    return out;
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
