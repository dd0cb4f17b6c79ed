/** Minimal multipart/form-data parser for the fake servers (validates what clients send). */

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Uint8Array;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Throws Error with a clear message when the body is not well-formed multipart. */
export function parseMultipart(contentType: string | undefined, body: Uint8Array): FormPart[] {
  const m = /^multipart\/form-data;.*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  if (!m) throw new Error(`content-type is not multipart/form-data with a boundary: ${String(contentType)}`);
  const boundary = new TextEncoder().encode('--' + (m[1] ?? m[2]));
  const crlf = new TextEncoder().encode('\r\n');
  const parts: FormPart[] = [];
  let pos = indexOf(body, boundary, 0);
  if (pos < 0) throw new Error('multipart body has no opening boundary');
  for (;;) {
    pos += boundary.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return parts; // closing --
    if (body[pos] !== 0x0d || body[pos + 1] !== 0x0a) throw new Error('boundary not followed by CRLF');
    pos += 2;
    const headerEnd = indexOf(body, new TextEncoder().encode('\r\n\r\n'), pos);
    if (headerEnd < 0) throw new Error('part headers not terminated');
    const headers = new TextDecoder().decode(body.subarray(pos, headerEnd)).split('\r\n');
    const next = indexOf(body, new Uint8Array([...crlf, ...boundary]), headerEnd + 4);
    if (next < 0) throw new Error('part not terminated by a boundary');
    const part: FormPart = { name: '', data: body.slice(headerEnd + 4, next) };
    for (const h of headers) {
      const [k, ...rest] = h.split(':');
      const v = rest.join(':').trim();
      if (k?.toLowerCase() === 'content-disposition') {
        const name = /\bname="([^"]*)"/.exec(v);
        const fn = /\bfilename="([^"]*)"/.exec(v);
        if (!name) throw new Error('part has no name');
        part.name = name[1] as string;
        if (fn) part.filename = fn[1] as string;
      } else if (k?.toLowerCase() === 'content-type') {
        part.contentType = v;
      }
    }
    parts.push(part);
    pos = next + 2;
  }
}
