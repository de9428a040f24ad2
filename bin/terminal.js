// terminal.js — text from a model (or a file) made safe for a terminal: C0 and C1 control
// characters other than newline and tab, and DEL, become visible escapes (ESC -> "\x1b"), so a
// vocabulary piece cannot set the window title, clear the screen or hide text (OSC / CSI).

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * @param {string} text
 * @returns {string} the text with each control character written as \xHH (C0, DEL) or \u00HH (C1)
 */
export function escapeControls(text) {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * A write function for a stream: escaped when it is a terminal, unless raw.
 * @param {{write: (s: string) => any, isTTY?: boolean}} stream
 * @param {boolean} raw keep the bytes as they are (--raw)
 * @returns {(text: string) => void}
 */
export function terminalWriter(stream, raw) {
  const escape = !raw && stream.isTTY === true;
  return (text) => { stream.write(escape ? escapeControls(text) : text); };
}
