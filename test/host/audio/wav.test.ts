import { expect } from 'chai';
import { decodeWav, encodeWav, WavError, WavStreamDecoder } from '../../../host/src/audio/index';

function chunk(id: string, body: Uint8Array, declared = body.length): Uint8Array {
  const out = new Uint8Array(8 + body.length + (body.length & 1));
  for (let i = 0; i < 4; i++) out[i] = id.charCodeAt(i);
  new DataView(out.buffer).setUint32(4, declared, true);
  out.set(body, 8);
  return out;
}

function riff(...chunks: Uint8Array[]): Uint8Array {
  const body = chunks.reduce((n, c) => n + c.length, 4);
  const out = new Uint8Array(8 + body);
  out.set([0x52, 0x49, 0x46, 0x46]);
  new DataView(out.buffer).setUint32(4, body, true);
  out.set([0x57, 0x41, 0x56, 0x45], 8);
  let o = 12;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function fmt(channels: number, rate: number, bits: number, format = 1, extra = 0): Uint8Array {
  const b = new Uint8Array(16 + extra);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, format, true);
  dv.setUint16(2, channels, true);
  dv.setUint32(4, rate, true);
  dv.setUint32(8, (rate * channels * bits) / 8, true);
  dv.setUint16(12, (channels * bits) / 8, true);
  dv.setUint16(14, bits, true);
  return chunk('fmt ', b);
}

function s16le(...v: number[]): Uint8Array {
  const b = new Uint8Array(v.length * 2);
  const dv = new DataView(b.buffer);
  v.forEach((x, i) => dv.setInt16(2 * i, x, true));
  return b;
}

function expectWavError(f: () => unknown, code: string): void {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(WavError);
    expect((e as WavError).code).to.equal(code);
    return;
  }
  expect.fail(`expected WavError ${code}`);
}

describe('audio: WAV', () => {
  it('16-bit mono round trip keeps rate and samples, with a canonical 44-byte header', () => {
    const pcm = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
    const bytes = encodeWav(pcm, 22050);
    expect(bytes.length).to.equal(44 + 12);
    const d = decodeWav(bytes);
    expect(d).to.include({ sampleRate: 22050, channels: 1, bitsPerSample: 16 });
    expect(Array.from(d.samples)).to.deep.equal(Array.from(pcm));
  });

  it('8-bit round trip quantises to 8-bit steps (silence stays silence)', () => {
    const pcm = Int16Array.from([0, 256, -256, 32767, -32768]);
    const d = decodeWav(encodeWav(pcm, 8000, { bitsPerSample: 8 }));
    expect(d.bitsPerSample).to.equal(8);
    expect(Array.from(d.samples)).to.deep.equal([0, 256, -256, 32512, -32768]);
  });

  it('mixes stereo down to mono and skips LIST / odd-sized chunks', () => {
    const odd = chunk('junk', new Uint8Array(3)); // padded to 4
    const list = chunk('LIST', new TextEncoder().encode('INFOISFT\x05\x00\x00\x00test\x00\x00'));
    const bytes = riff(
      odd,
      fmt(2, 44100, 16),
      list,
      chunk('data', s16le(100, 200, -100, -300, 32767, 32767)),
    );
    const d = decodeWav(bytes);
    expect(d).to.include({ sampleRate: 44100, channels: 2 });
    expect(Array.from(d.samples)).to.deep.equal([150, -200, 32767]);
  });

  it('accepts WAVE_FORMAT_EXTENSIBLE with the PCM sub-format', () => {
    const f = fmt(1, 16000, 16, 0xfffe, 24);
    new DataView(f.buffer).setUint16(8 + 16, 22, true);
    new DataView(f.buffer).setUint16(8 + 24, 1, true);
    const d = decodeWav(riff(f, chunk('data', s16le(5, 6))));
    expect(Array.from(d.samples)).to.deep.equal([5, 6]);
  });

  it('treats a 0 / 0xFFFFFFFF data size (streaming writers) as "to the end"', () => {
    for (const declared of [0, 0xffffffff]) {
      const d = decodeWav(riff(fmt(1, 24000, 16), chunk('data', s16le(7, 8, 9), declared)));
      expect(Array.from(d.samples)).to.deep.equal([7, 8, 9]);
    }
  });

  it('rejects malformed files with typed errors', () => {
    const good = encodeWav(Int16Array.from([1, 2, 3]), 8000);
    expectWavError(() => decodeWav(new Uint8Array(0)), 'truncated');
    expectWavError(() => decodeWav(good.subarray(0, 30)), 'truncated');
    expectWavError(() => decodeWav(good.subarray(0, good.length - 2)), 'truncated');
    expectWavError(() => decodeWav(new TextEncoder().encode('ID3\x04 this is an mp3 file')), 'not-riff');
    const notWave = good.slice();
    notWave.set([0x41, 0x56, 0x49, 0x20], 8);
    expectWavError(() => decodeWav(notWave), 'not-wave');
    expectWavError(() => decodeWav(riff(chunk('data', s16le(1)))), 'missing-fmt');
    expectWavError(() => decodeWav(riff(fmt(1, 8000, 16))), 'missing-data');
    expectWavError(
      () => decodeWav(riff(fmt(1, 8000, 16, 3), chunk('data', new Uint8Array(8)))),
      'unsupported-encoding',
    );
    expectWavError(
      () => decodeWav(riff(fmt(1, 8000, 24), chunk('data', new Uint8Array(6)))),
      'unsupported-bits',
    );
    expectWavError(
      () => decodeWav(riff(fmt(6, 8000, 16), chunk('data', new Uint8Array(12)))),
      'unsupported-channels',
    );
    expectWavError(() => decodeWav(riff(fmt(1, 0, 16), chunk('data', new Uint8Array(2)))), 'bad-fmt');
    expectWavError(
      () => decodeWav(riff(chunk('fmt ', new Uint8Array(8)), chunk('data', new Uint8Array(2)))),
      'bad-fmt',
    );
    expectWavError(() => decodeWav(riff(fmt(1, 8000, 16), chunk('data', new Uint8Array(3)))), 'truncated');
  });

  it('never throws anything but WavError on random bytes', () => {
    let seed = 42;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const base = encodeWav(Int16Array.from([1, 2, 3, 4]), 16000);
    for (let n = 0; n < 2000; n++) {
      const b = base.slice(0, Math.floor(rnd() * (base.length + 1)));
      for (let k = 0; k < 3; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      try {
        decodeWav(b);
      } catch (e) {
        expect(e).to.be.instanceOf(WavError);
      }
    }
  });

  it('stream decoder yields the same samples however the bytes are split', () => {
    const pcm = Int16Array.from({ length: 301 }, (_, i) => (i * 97) % 20000);
    const bytes = riff(chunk('LIST', new Uint8Array(10)), fmt(1, 22050, 16), chunk('data', s16le(...pcm)));
    for (const size of [1, 3, 7, 45, 1000]) {
      const dec = new WavStreamDecoder();
      const out: number[] = [];
      for (let i = 0; i < bytes.length; i += size) out.push(...dec.push(bytes.subarray(i, i + size)));
      dec.end();
      expect(dec.format?.sampleRate).to.equal(22050);
      expect(out).to.deep.equal(Array.from(pcm));
    }
  });

  it('stream decoder refuses a header that never reaches the data chunk, holding at most 64 KiB', () => {
    // Found writing the fuzz target's "bounded memory per input" property: a chunk declaring 2 GB
    // before the data made the decoder keep the whole stream, copying it again at every push (16 MB
    // in 16 KiB pieces took 5 s, and memory grew as long as the server kept sending).
    const head = riff(fmt(1, 8000, 16)).subarray(0, 36);
    const list = chunk('LIST', new Uint8Array(0), 0x7fffffff).subarray(0, 8);
    const dec = new WavStreamDecoder();
    dec.push(head);
    dec.push(list);
    const piece = new Uint8Array(16384);
    let pushed = 0;
    expectWavError(() => {
      for (; pushed < 64; pushed++) dec.push(piece);
    }, 'missing-data');
    expect(pushed * piece.length).to.be.at.most(64 << 10);
  });

  it('stream decoder reports a stream that stops early', () => {
    const bytes = encodeWav(Int16Array.from([1, 2, 3]), 8000);
    const dec = new WavStreamDecoder();
    dec.push(bytes.subarray(0, bytes.length - 1));
    expectWavError(() => dec.end(), 'truncated');
    const dec2 = new WavStreamDecoder();
    dec2.push(bytes.subarray(0, 20));
    expectWavError(() => dec2.end(), 'truncated');
  });
});
