/** RIFF/WAVE PCM I/O: round trips, fixtures, and typed errors for malformed files. */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WavError, encodeWav, parseWav, quantise16to8, readWav, writeWav } from '@budlink/protocol/audio';

const fixture = (n: string): string => fileURLToPath(new URL(`../../fixtures/audio/${n}`, import.meta.url));

function expectWavError(bytes: Uint8Array, code: string): void {
  try {
    parseWav(bytes);
  } catch (e) {
    expect(e).to.be.instanceOf(WavError);
    expect((e as WavError).code).to.equal(code);
    return;
  }
  expect.fail(`expected WavError ${code}`);
}

describe('sim: WAV files', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'budlink-wav-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips 16-bit and 8-bit mono through a file', () => {
    const s16 = Int16Array.from([0, 1, -1, 32767, -32768, 1234]);
    writeWav(join(dir, 'a.wav'), s16, 8000);
    const a = readWav(join(dir, 'a.wav'));
    expect(a.sampleRate).to.equal(8000);
    expect(a.bitsPerSample).to.equal(16);
    expect(Array.from(a.samples)).to.deep.equal(Array.from(s16));
    const u8 = Uint8Array.from([128, 0, 255, 7, 9]); // odd length: padded data chunk
    writeWav(join(dir, 'b.wav'), u8, 4000);
    const b = readWav(join(dir, 'b.wav'));
    expect(b.bitsPerSample).to.equal(8);
    expect(Array.from(b.samples)).to.deep.equal(Array.from(u8));
  });

  it('reads the committed fixtures', () => {
    const w = readWav(fixture('hey-budlink-weather-8k.wav'));
    expect(w.sampleRate).to.equal(8000);
    expect(w.bitsPerSample).to.equal(16);
    expect(w.samples.length).to.be.within(16000, 20000);
    const r = readWav(fixture('reply-sunny-8k-u8.wav'));
    expect(r.bitsPerSample).to.equal(8);
    expect(readWav(fixture('hey-budlink-timer-4k.wav')).sampleRate).to.equal(4000);
  });

  it('takes the first channel of a stereo file and skips unknown chunks', () => {
    const mono = encodeWav(Int16Array.from([1, 2, 3]), 8000);
    // Build stereo by hand: L = 1,2,3; R = -1,-2,-3, with a LIST chunk before data.
    const out = new Uint8Array(12 + 24 + 12 + 8 + 12);
    const dv = new DataView(out.buffer);
    out.set(mono.subarray(0, 36));
    dv.setUint16(22, 2, true); // channels
    dv.setUint32(28, 8000 * 4, true);
    dv.setUint16(32, 4, true); // block align
    out.set([0x4c, 0x49, 0x53, 0x54], 36); // 'LIST'
    dv.setUint32(40, 4, true);
    out.set([0x64, 0x61, 0x74, 0x61], 48); // 'data'
    dv.setUint32(52, 12, true);
    [1, -1, 2, -2, 3, -3].forEach((v, i) => dv.setInt16(56 + 2 * i, v, true));
    const w = parseWav(out);
    expect(w.channels).to.equal(2);
    expect(Array.from(w.samples)).to.deep.equal([1, 2, 3]);
  });

  it('malformed files raise a WavError saying what is wrong', () => {
    const good = encodeWav(Int16Array.from([1, 2, 3, 4]), 8000);
    expectWavError(good.subarray(0, 8), 'truncated');
    const notRiff = good.slice();
    notRiff[0] = 0x58;
    expectWavError(notRiff, 'not-riff');
    const notWave = good.slice();
    notWave[8] = 0x41;
    expectWavError(notWave, 'not-wave');
    expectWavError(good.subarray(0, 44 + 3), 'truncated'); // data shorter than declared
    const float = good.slice();
    new DataView(float.buffer).setUint16(20, 3, true); // IEEE float
    expectWavError(float, 'unsupported-encoding');
    const bits24 = good.slice();
    new DataView(bits24.buffer).setUint16(34, 24, true);
    expectWavError(bits24, 'unsupported-bits');
    expectWavError(good.subarray(0, 36), 'missing-data');
    expect(() => readWav(join(dir, 'missing.wav'))).to.throw(/ENOENT/);
  });

  it('quantise16to8 keeps the top 8 bits, offset to unsigned (128 = zero)', () => {
    expect(Array.from(quantise16to8(Int16Array.from([0, 255, 256, -1, -256, 32767, -32768])))).to.deep.equal([
      128, 128, 129, 127, 127, 255, 0,
    ]);
  });
});
