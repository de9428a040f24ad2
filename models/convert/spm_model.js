// spm_model.js — reads a SentencePiece tokenizer.model (a serialized ModelProto) by hand, so the
// converter needs no protobuf library. Only the fields a GGUF vocabulary needs are decoded.
//
// ModelProto: 1 pieces (repeated SentencePiece {1 piece, 2 score, 3 type}), 2 trainer_spec,
// 3 normalizer_spec. Field numbers from sentencepiece_model.proto.
import { ConvertError } from './errors.js';

/** SentencePiece piece types (sentencepiece_model.proto, SentencePiece.Type). */
export const SpmPieceType = Object.freeze({ NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 });

/**
 * @typedef {object} SpmModel
 * @property {string[]} pieces
 * @property {Float32Array} scores
 * @property {Uint8Array} types        SentencePiece.Type per piece
 * @property {{modelType: number, vocabSize: number, byteFallback: boolean,
 *            unkId: number, bosId: number, eosId: number, padId: number}} trainer
 * @property {{addDummyPrefix: boolean, removeExtraWhitespaces: boolean, escapeWhitespaces: boolean}} normalizer
 */

/** Minimal protobuf wire reader over a Uint8Array. */
class Reader {
  /** @param {Uint8Array} buf @param {number} start @param {number} end @param {string} what */
  constructor(buf, start, end, what) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.what = what;
  }

  fail() {
    throw new ConvertError(`tokenizer.model is damaged: truncated or malformed ${this.what}.`);
  }

  /** Varint as a Number (exact up to 2^53; larger values only occur as negative int32s). */
  varint() {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail();
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    return this.fail();
  }

  /** int32 fields are sign-extended to 64 bits on the wire: keep the low 32 bits, signed. */
  int32() {
    let v = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail();
      const b = this.buf[this.pos++];
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return Number(BigInt.asIntN(32, v));
      shift += 7n;
    }
    return this.fail();
  }

  /** @returns {[number, number]} field number, wire type */
  tag() {
    const t = this.varint();
    return [Math.floor(t / 8), t & 7];
  }

  /** @returns {[number, number]} start, end of a length-delimited field */
  bytes() {
    const len = this.varint();
    const start = this.pos;
    if (len > this.end - start) this.fail();
    this.pos += len;
    return [start, start + len];
  }

  f32() {
    if (this.end - this.pos < 4) this.fail();
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  /** @param {number} wire */
  skip(wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.advance(8);
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.advance(4);
    else this.fail(); // groups (3, 4) are not used by sentencepiece
  }

  /** @param {number} n */
  advance(n) {
    if (this.end - this.pos < n) this.fail();
    this.pos += n;
  }

  done() {
    return this.pos >= this.end;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * @param {Uint8Array} buf contents of tokenizer.model
 * @returns {SpmModel}
 */
export function parseSpmModel(buf) {
  const pieces = [];
  const scoreList = [];
  const typeList = [];
  // proto2 defaults (sentencepiece_model.proto)
  const trainer = { modelType: 1, vocabSize: 8000, byteFallback: false, unkId: 0, bosId: 1, eosId: 2, padId: -1 };
  const normalizer = { addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true };

  const r = new Reader(buf, 0, buf.length, 'model');
  while (!r.done()) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === 2) {
      const [s, e] = r.bytes();
      const p = new Reader(buf, s, e, `piece ${pieces.length}`);
      let piece = null;
      let score = 0;
      let type = SpmPieceType.NORMAL;
      while (!p.done()) {
        const [f, w] = p.tag();
        if (f === 1 && w === 2) {
          const [a, b] = p.bytes();
          try {
            piece = utf8.decode(buf.subarray(a, b));
          } catch {
            throw new ConvertError(`tokenizer.model piece ${pieces.length} is not valid UTF-8.`);
          }
        } else if (f === 2 && w === 5) score = p.f32();
        else if (f === 3 && w === 0) type = p.varint();
        else p.skip(w);
      }
      if (piece === null) throw new ConvertError(`tokenizer.model piece ${pieces.length} has no text.`, 'missing');
      pieces.push(piece);
      scoreList.push(score);
      typeList.push(type);
    } else if (field === 2 && wire === 2) {
      const [s, e] = r.bytes();
      const t = new Reader(buf, s, e, 'trainer_spec');
      while (!t.done()) {
        const [f, w] = t.tag();
        if (w !== 0) { t.skip(w); continue; }
        if (f === 3) trainer.modelType = t.varint();
        else if (f === 4) trainer.vocabSize = t.int32();
        else if (f === 35) trainer.byteFallback = t.varint() !== 0;
        else if (f === 40) trainer.unkId = t.int32();
        else if (f === 41) trainer.bosId = t.int32();
        else if (f === 42) trainer.eosId = t.int32();
        else if (f === 43) trainer.padId = t.int32();
        else t.varint();
      }
    } else if (field === 3 && wire === 2) {
      const [s, e] = r.bytes();
      const n = new Reader(buf, s, e, 'normalizer_spec');
      while (!n.done()) {
        const [f, w] = n.tag();
        if (w !== 0) { n.skip(w); continue; }
        const v = n.varint() !== 0;
        if (f === 3) normalizer.addDummyPrefix = v;
        else if (f === 4) normalizer.removeExtraWhitespaces = v;
        else if (f === 5) normalizer.escapeWhitespaces = v;
      }
    } else {
      r.skip(wire);
    }
  }
  if (pieces.length === 0) throw new ConvertError('tokenizer.model holds no pieces; it is not a SentencePiece model.');
  return {
    pieces,
    scores: Float32Array.from(scoreList),
    types: Uint8Array.from(typeList),
    trainer,
    normalizer,
  };
}

/** GGUF tokenizer.ggml.token_type values (llama.cpp's SentencePieceTokenTypes). */
export const GgufTokenType = Object.freeze({ NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 });

/**
 * The GGUF token type llama.cpp's converter (`_create_vocab_sentencepiece`) assigns: it asks
 * IsUnknown, IsControl, IsUnused, IsByte in that order and calls everything else NORMAL, so a
 * USER_DEFINED piece in the model becomes NORMAL.
 * @param {number} spmType
 */
export function ggufTokenType(spmType) {
  switch (spmType) {
    case SpmPieceType.UNKNOWN: return GgufTokenType.UNKNOWN;
    case SpmPieceType.CONTROL: return GgufTokenType.CONTROL;
    case SpmPieceType.UNUSED: return GgufTokenType.UNUSED;
    case SpmPieceType.BYTE: return GgufTokenType.BYTE;
    default: return GgufTokenType.NORMAL;
  }
}
