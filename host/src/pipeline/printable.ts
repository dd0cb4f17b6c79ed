/**
 * Text that came from a device or the radio (advertised names, LOG and ERROR text) made safe to show
 * in a terminal or a log line: control characters (ESC and the rest of C0 and C1, DEL) and Unicode
 * direction overrides become visible escapes (`\x1b`, `\u202e`), so such text cannot move the cursor,
 * recolour or retitle the terminal, or start a forged log line with CR/LF. With `keepNewlines`, `\n`
 * stays (multi-line text of the bridge's own, such as help and hints).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string, keepNewlines = false): string {
  return text.replace(UNSAFE, (c) => {
    if (keepNewlines && c === '\n') return c;
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}
