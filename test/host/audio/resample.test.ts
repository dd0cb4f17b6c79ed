import { expect } from 'chai';
import { resample, Resampler, ResampleError, s16ToU8, u8ToS16 } from '../../../host/src/audio/index';

function tone(n: number, hz: number, rate: number, amp = 10000): Int16Array {
  const x = new Int16Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.round(amp * Math.sin((2 * Math.PI * hz * i) / rate));
  return x;
}

function rms(x: Int16Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += (x[i] as number) ** 2;
  return Math.sqrt(s / (to - from));
}

/** SNR of y against x over the middle (edges see the zero padding). */
function snrDb(x: Int16Array, y: Int16Array, margin: number): number {
  let s = 0;
  let e = 0;
  for (let i = margin; i < x.length - margin; i++) {
    s += (x[i] as number) ** 2;
    e += ((x[i] as number) - (y[i] as number)) ** 2;
  }
  return 10 * Math.log10(s / Math.max(e, 1e-9));
}

describe('audio: sample formats', () => {
  it('maps 8-bit 128 to 16-bit 0 and back, every byte round-trips', () => {
    const all = new Uint8Array(256).map((_, i) => i);
    const s = u8ToS16(all);
    expect(s[128]).to.equal(0);
    expect(s[0]).to.equal(-32768);
    expect(s[255]).to.equal(127 << 8);
    expect(Array.from(s16ToU8(s))).to.deep.equal(Array.from(all));
  });

  it('rounds to the nearest 8-bit step and clips at both ends', () => {
    const out = s16ToU8(Int16Array.from([0, 127, 128, 129, -128, -129, 32767, -32768, 32640, 32639]));
    expect(Array.from(out)).to.deep.equal([128, 128, 129, 129, 127, 127, 255, 0, 255, 255]);
  });
});

describe('audio: resampling', () => {
  it('8 kHz → 24 kHz → 8 kHz keeps a 440 Hz tone above 60 dB SNR', () => {
    const x = tone(8000, 440, 8000);
    const up = resample(x, 8000, 24000);
    expect(up.length).to.equal(24000);
    const back = resample(up, 24000, 8000);
    expect(back.length).to.equal(8000);
    expect(snrDb(x, back, 200)).to.be.greaterThan(60);
  });

  it('up-sampling interpolates the tone itself (compared with the ideal 24 kHz tone)', () => {
    const up = resample(tone(16000, 1000, 16000), 16000, 24000);
    expect(snrDb(tone(24000, 1000, 24000), up, 600)).to.be.greaterThan(60);
  });

  it('down-sampling removes energy above the new Nyquist instead of aliasing it', () => {
    // 5 kHz at 24 kHz would alias to 3 kHz at 8 kHz without a low-pass.
    const out = resample(tone(24000, 5000, 24000), 24000, 8000);
    expect(rms(out, 300, out.length - 300)).to.be.lessThan(10000 * 0.001); // < -60 dB
    // 3 kHz (in band) passes at unity gain within 0.1 dB.
    const pass = resample(tone(24000, 3000, 24000), 24000, 8000);
    const gainDb = 20 * Math.log10(rms(pass, 300, pass.length - 300) / (10000 / Math.SQRT2));
    expect(Math.abs(gainDb)).to.be.lessThan(0.1);
  });

  it('handles awkward ratios (22050 → 24000, 44100 → 8000) with exact lengths', () => {
    expect(resample(new Int16Array(22050), 22050, 24000).length).to.equal(24000);
    expect(resample(new Int16Array(441), 44100, 8000).length).to.equal(80);
    const t = resample(tone(22050, 500, 22050), 22050, 24000);
    expect(snrDb(tone(24000, 500, 24000), t, 600)).to.be.greaterThan(55);
  });

  it('streaming in uneven chunks gives exactly the one-shot result', () => {
    const x = tone(5000, 700, 8000);
    for (const [from, to] of [
      [8000, 24000],
      [24000, 8000],
      [22050, 16000],
    ] as const) {
      const whole = resample(x, from, to);
      const r = new Resampler(from, to);
      const parts: number[] = [];
      let i = 0;
      let step = 1;
      while (i < x.length) {
        parts.push(...r.push(x.subarray(i, i + step)));
        i += step;
        step = (step * 7 + 3) % 400;
      }
      parts.push(...r.flush());
      expect(parts.length).to.equal(whole.length);
      expect(parts).to.deep.equal(Array.from(whole));
    }
  });

  it('same rate is the identity; empty input gives empty output', () => {
    const x = tone(100, 300, 8000);
    expect(Array.from(resample(x, 8000, 8000))).to.deep.equal(Array.from(x));
    expect(resample(new Int16Array(0), 8000, 24000).length).to.equal(0);
  });

  it('clips instead of wrapping on full-scale square waves (Gibbs overshoot)', () => {
    const sq = new Int16Array(800).map((_, i) => (Math.floor(i / 20) % 2 ? 32767 : -32768));
    const up = resample(sq, 8000, 24000);
    // Wrapping would put large values of the wrong sign right next to the edges.
    for (let i = 1; i < up.length; i++) {
      expect(Math.abs((up[i] as number) - (up[i - 1] as number))).to.be.lessThan(40000);
    }
  });

  it('rejects bad rates and push after flush with ResampleError', () => {
    expect(() => new Resampler(0, 8000)).to.throw(ResampleError, /fromHz/);
    expect(() => new Resampler(8000, 1.5)).to.throw(ResampleError, /toHz/);
    const r = new Resampler(8000, 16000);
    r.flush();
    expect(() => r.push(new Int16Array(4))).to.throw(ResampleError, /after flush/);
  });
});
