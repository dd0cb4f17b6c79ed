import { expect } from 'chai';
import { s16FromLE, writeS16LE } from '../../../host/src/audio/pcm';

describe('audio: 16-bit little-endian PCM', () => {
  const samples = Int16Array.from([0, 1, -1, 32767, -32768, 0x1234]);
  const bytes = [0, 0, 1, 0, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x80, 0x34, 0x12];

  it('writes samples little-endian at an offset', () => {
    const out = new Uint8Array(2 + bytes.length).fill(0xaa);
    writeS16LE(out, 2, samples);
    expect([...out]).to.deep.equal([0xaa, 0xaa, ...bytes]);
  });

  it('reads them back as a copy, from an odd offset too, and only the first n when asked', () => {
    const backing = new Uint8Array(1 + bytes.length);
    backing.set(bytes, 1);
    const view = backing.subarray(1);
    const got = s16FromLE(view);
    expect([...got]).to.deep.equal([...samples]);
    backing[1] = 9; // the caller may reuse its bytes
    expect(got[0]).to.equal(0);
    expect([...s16FromLE(Uint8Array.from(bytes), 2)]).to.deep.equal([0, 1]);
    expect([...s16FromLE(Uint8Array.from([1, 0, 7]))]).to.deep.equal([1]); // a trailing odd byte is no sample
  });
});
