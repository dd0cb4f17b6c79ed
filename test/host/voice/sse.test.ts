import { expect } from 'chai';
import fc from 'fast-check';
import { SentenceSplitter, SseOverflow, SseParser, type SseEvent } from '../../../host/src/voice/index';

function parseSplit(bytes: Uint8Array, cuts: number[]): SseEvent[] {
  const p = new SseParser();
  const out: SseEvent[] = [];
  let last = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    out.push(...p.push(bytes.subarray(last, c)));
    last = c;
  }
  out.push(...p.push(bytes.subarray(last)));
  out.push(...p.end());
  return out;
}

describe('voice: SSE parser', () => {
  const stream =
    ': comment line\r\n' +
    'event: message\r\n' +
    'data: {"a":1}\r\n' +
    '\r\n' +
    'data: line one\n' +
    'data: line two\n' +
    'id: 7\n' +
    '\n' +
    'data:no-space\r\r' +
    'data: Köln ✓\n\n' +
    'retry: 100\n\n' +
    'data: [DONE]\n\n';
  const expected: SseEvent[] = [
    { event: 'message', data: '{"a":1}' },
    { event: 'message', data: 'line one\nline two', id: '7' },
    { event: 'message', data: 'no-space', id: '7' },
    { event: 'message', data: 'Köln ✓', id: '7' },
    { event: 'message', data: '[DONE]', id: '7' },
  ];

  it('handles CRLF, CR and LF, comments, multi-line data, id and UTF-8', () => {
    expect(parseSplit(new TextEncoder().encode(stream), [])).to.deep.equal(expected);
  });

  it('gives the same events however the bytes are split (inside CRLF and UTF-8 too)', () => {
    const bytes = new TextEncoder().encode(stream);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 12 }), (cuts) => {
        expect(parseSplit(bytes, cuts)).to.deep.equal(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('delivers a last event that lacks its blank line', () => {
    expect(parseSplit(new TextEncoder().encode('data: [DONE]'), [])).to.deep.equal([
      { event: 'message', data: '[DONE]' },
    ]);
  });
});

describe('voice: sentence splitting for speak-while-thinking', () => {
  function split(text: string, step: number): string[] {
    const s = new SentenceSplitter();
    const out: string[] = [];
    for (let i = 0; i < text.length; i += step) out.push(...s.push(text.slice(i, i + step)));
    return [...out, ...s.end()];
  }

  it('cuts at sentence ends as they stream in, not at decimals, and joins tiny pieces', () => {
    const text =
      'Hi. The price is 3.5 euros today! Is that fine? **Yes**, it is.\n- first item\n- second item';
    const want = [
      'Hi. The price is 3.5 euros today!',
      'Is that fine?',
      'Yes, it is.',
      'first item',
      'second item',
    ];
    for (const step of [1, 2, 7, 100]) expect(split(text, step)).to.deep.equal(want);
  });

  it('cuts CJK text at 。！？ without spaces', () => {
    expect(split('今天天气很好。我们去公园吧！好', 1)).to.deep.equal([
      '今天天气很好。',
      '我们去公园吧！',
      '好',
    ]);
  });

  it('an event whose data lines never end is refused past the cap, like a runaway line', () => {
    const p = new SseParser({ maxLineChars: 100 });
    expect(() => {
      for (let i = 0; i < 20; i++) p.pushText('data: 0123456789\n');
    }).to.throw(SseOverflow, /SSE event data longer than 100 characters/);
    const q = new SseParser({ maxLineChars: 100 });
    for (let i = 0; i < 20; i++) expect(q.pushText('data: 0123456789\n\n')).to.have.length(1); // dispatched: no cap
  });
});
