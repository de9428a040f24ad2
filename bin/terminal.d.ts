// Types of bin/terminal.js.
/** The text with C0/C1 control characters (but newline and tab) and DEL written as visible escapes. */
export function escapeControls(text: string): string;
/** A write function for a stream, escaping control characters when it is a terminal unless `raw`. */
export function terminalWriter(stream: { write: (s: string) => any; isTTY?: boolean }, raw: boolean): (text: string) => void;
