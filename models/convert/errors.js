// errors.js — the converter's error type: a bad or unsupported checkpoint is the user's input,
// not a bug, so it carries a code and one sentence (callers print the message, not a stack).

export class ConvertError extends Error {
  /**
   * @param {string} message one sentence naming the file, key or tensor at fault
   * @param {'format'|'unsupported'|'missing'} [code]
   */
  constructor(message, code = 'format') {
    super(message);
    this.name = 'ConvertError';
    this.code = code;
  }
}
