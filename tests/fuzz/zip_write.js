// zip_write.js — test helper: a stored (uncompressed) zip archive from {name: bytes}, the layout
// torch.save writes, with CRC-32s from Node's zlib (an implementation independent of
// models/convert/crc32.js). Used to rebuild checkpoints with a replaced data.pkl or record.
import zlib from 'node:zlib';

/**
 * @param {[string, Uint8Array][]} entries in order
 * @param {{crc?: (name: string, bytes: Uint8Array) => number}} [o] crc: override an entry's recorded CRC
 * @returns {Uint8Array}
 */
export function writeStoredZip(entries, o = {}) {
  const enc = new TextEncoder();
  const parts = [];
  const central = [];
  let off = 0;
  for (const [name, data] of entries) {
    const nb = enc.encode(name);
    const crc = o.crc ? o.crc(name, data) : zlib.crc32(data);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0); h.writeUInt16LE(20, 4); h.writeUInt32LE(crc >>> 0, 14);
    h.writeUInt32LE(data.length, 18); h.writeUInt32LE(data.length, 22); h.writeUInt16LE(nb.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0); c.writeUInt16LE(20, 4); c.writeUInt16LE(20, 6); c.writeUInt32LE(crc >>> 0, 16);
    c.writeUInt32LE(data.length, 20); c.writeUInt32LE(data.length, 24); c.writeUInt16LE(nb.length, 28);
    c.writeUInt32LE(off, 42);
    parts.push(h, nb, data);
    central.push(c, nb);
    off += 30 + nb.length + data.length;
  }
  const cd = Buffer.concat(central);
  const e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0); e.writeUInt16LE(entries.length, 8); e.writeUInt16LE(entries.length, 10);
  e.writeUInt32LE(cd.length, 12); e.writeUInt32LE(off, 16);
  return new Uint8Array(Buffer.concat([...parts, cd, e]));
}
