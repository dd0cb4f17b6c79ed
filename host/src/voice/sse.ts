/**
 * Incremental Server-Sent Events parser (WHATWG "event stream" rules): lines end in CRLF, LF or
 * CR; chunk boundaries may fall anywhere, including inside a CRLF pair or a UTF-8 sequence; lines
 * starting with ':' are comments; several `data:` lines join with '\n'; a blank line dispatches.
 * Never throws: it only splits text. Interpreting `data` (JSON, [DONE]) is the caller's job.
 */

export interface SseEvent {
  /** `event:` field, 'message' when absent. */
  event: string;
  data: string;
  id?: string;
}

export class SseParser {
  private readonly decoder = new TextDecoder('utf-8');
  private line = '';
  /** Last chunk ended with CR: a following LF belongs to it. */
  private pendingCr = false;
  private data: string[] = [];
  /** Characters in `data` so far (an event's data is capped like a line). */
  private dataChars = 0;
  private event = '';
  private id: string | undefined;
  /** Bytes of the line being built (to cap runaway lines). */
  private readonly maxLine: number;

  constructor(options: { maxLineChars?: number } = {}) {
    this.maxLine = options.maxLineChars ?? 1 << 20;
  }

  /** Feed bytes; returns the events completed by them. Throws SseOverflow on a runaway line or event. */
  push(bytes: Uint8Array): SseEvent[] {
    return this.pushText(this.decoder.decode(bytes, { stream: true }));
  }

  pushText(text: string): SseEvent[] {
    const out: SseEvent[] = [];
    let start = 0;
    let i = 0;
    if (this.pendingCr && text.length > 0) {
      this.pendingCr = false;
      if (text[0] === '\n') {
        start = 1;
        i = 1;
      }
    }
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line += text.slice(start, i);
      this.endLine(out);
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
    }
    this.line += text.slice(start);
    if (this.line.length > this.maxLine) {
      throw new SseOverflow(`SSE line longer than ${String(this.maxLine)} characters`);
    }
    return out;
  }

  /** End of stream: a final event without its blank line is still delivered. */
  end(): SseEvent[] {
    const out = this.pushText(this.decoder.decode());
    if (this.line.length > 0) {
      this.endLine(out);
    }
    if (this.data.length > 0) this.dispatch(out);
    return out;
  }

  private endLine(out: SseEvent[]): void {
    const line = this.line;
    this.line = '';
    if (line === '') {
      this.dispatch(out);
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' */) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      this.dataChars += value.length + 1;
      if (this.dataChars > this.maxLine) {
        throw new SseOverflow(`SSE event data longer than ${String(this.maxLine)} characters`);
      }
      this.data.push(value);
    } else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
    // 'retry' and unknown fields are ignored.
  }

  private dispatch(out: SseEvent[]): void {
    if (this.data.length > 0) {
      const ev: SseEvent = { event: this.event || 'message', data: this.data.join('\n') };
      if (this.id !== undefined) ev.id = this.id;
      out.push(ev);
    }
    this.data = [];
    this.dataChars = 0;
    this.event = '';
  }
}

export class SseOverflow extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SseOverflow';
  }
}
