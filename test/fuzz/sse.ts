/**
 * Fuzz target for the Server-Sent Events parser (host/src/voice/sse.ts): a mutated event stream is fed
 * whole and in random chunks (cuts anywhere, inside a CRLF or a UTF-8 sequence), and both must give the
 * events a plain reference reading of the same text gives. Seed corpus: chat-completion streams as
 * OpenAI-compatible servers send them, with comments, event and id fields, CR / LF / CRLF line ends,
 * multi-byte characters and a missing final blank line.
 */
import { SseOverflow, SseParser, type SseEvent } from '../../host/src/voice/sse';
import { below, chunks, cuts, hex, mutateBytes, pick, utf8, type ByteMutation, type Target } from './fuzz';

const chunk = (content: string, extra = ''): string =>
  `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}}${extra}}]}\n\n`;

const STREAMS = [
  chunk('Hel') + chunk('lo.') + chunk('', ',"finish_reason":"stop"') + 'data: [DONE]\n\n',
  ': keep-alive\r\n\r\n' + chunk('Sunny').replace(/\n/g, '\r\n') + 'data: [DONE]\r\n\r\n',
  'event: message\rid: 7\rdata: line one\rdata: line two\r\rretry: 1000\rdata: é ü 漢字 🎧\r\r',
  'data\n\ndata:\n\ndata:  two spaces\n\n:comment only\n\nevent: ping\n\n',
  'id: a\u0000b\ndata: x\n\nid: 42\ndata: y\n\n',
  '\ufeffdata: after a BOM\n\n',
  'data: no final blank line',
  'event:custom\ndata:{"error":{"message":"overloaded"}}\n\n',
  'data: {"choices":[]}\n\ndata: {"choices":[{"delta":{}}]}\n\n',
];

const DICTIONARY = [
  '\r\n',
  '\r',
  '\n',
  '\n\n',
  'data:',
  'data: ',
  'event:',
  'id:',
  ':',
  'retry:',
  '[DONE]',
  '\ufeff',
  'é',
  '🎧',
].map(utf8);

interface SseCase {
  bytes: Uint8Array;
  cuts: number[];
  /** The parser's runaway-line limit (small ones reach the overflow path). */
  maxLineChars: number;
}

/** The events a plain reading of the text gives: split into lines, then the field rules sse.ts states. */
function referenceEvents(bytes: Uint8Array): SseEvent[] {
  const lines = new TextDecoder().decode(bytes).split(/\r\n|\r|\n/);
  const out: SseEvent[] = [];
  let data: string[] = [];
  let event = '';
  let id: string | undefined;
  const dispatch = (): void => {
    if (data.length > 0)
      out.push({ event: event || 'message', data: data.join('\n'), ...(id === undefined ? {} : { id }) });
    data = [];
    event = '';
  };
  for (const line of lines) {
    if (line === '') dispatch();
    else if (!line.startsWith(':')) {
      const m = /^([^:]*)(?::(.*))?$/s.exec(line) as RegExpExecArray;
      const field = m[1];
      const value = (m[2] ?? '').replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
      else if (field === 'id' && !value.includes('\0')) id = value;
    }
  }
  dispatch();
  return out;
}

/** Events from feeding `parts` one push each, then end(); SseOverflow as the value, anything else thrown. */
function parse(parts: Uint8Array[], maxLineChars: number): SseEvent[] | SseOverflow {
  const p = new SseParser({ maxLineChars });
  const out: SseEvent[] = [];
  try {
    for (const part of parts) out.push(...p.push(part));
    out.push(...p.end());
  } catch (e) {
    if (e instanceof SseOverflow) return e;
    throw e;
  }
  return out;
}

export const sseTarget: Target<SseCase> = {
  name: 'sse',
  sources: [{ file: 'host/src/voice/sse.ts' }],
  open(r) {
    const corpus = STREAMS.map(utf8);
    const m: ByteMutation = { corpus, maxLength: 4096, dictionary: DICTIONARY };
    return {
      next: () => {
        const bytes = mutateBytes(r, pick(r, corpus), m);
        return { bytes, cuts: cuts(r, bytes.length), maxLineChars: r() < 0.2 ? 8 + below(r, 200) : 1 << 20 };
      },
      check: (c) => {
        const whole = parse([c.bytes], c.maxLineChars);
        const split = parse(chunks(c.bytes, c.cuts), c.maxLineChars);
        if (whole instanceof SseOverflow) {
          // the line still open at the end is over the limit, however the bytes came
          if (!(split instanceof SseOverflow)) throw new Error('whole input overflows, chunked does not');
          return 'refused';
        }
        const want = JSON.stringify(referenceEvents(c.bytes));
        if (JSON.stringify(whole) !== want)
          throw new Error(`events ${JSON.stringify(whole)}, reference ${want}`);
        // a runaway line may be caught at a chunk boundary before its end is seen
        if (split instanceof SseOverflow) return 'refused';
        if (JSON.stringify(split) !== want)
          throw new Error(`chunked events ${JSON.stringify(split)}, reference ${want}`);
        return 'accepted';
      },
    };
  },
  show: (c) =>
    `${hex(c.bytes)} in chunks ending at ${c.cuts.join(',')}, lines up to ${String(c.maxLineChars)}`,
};
