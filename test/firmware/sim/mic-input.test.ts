/** The simulated microphone hears fed audio band-limited to its rate, as a real ADC behind its filter. */
import { expect } from 'chai';
import { heardByMic } from '@budlink/sim';

function tone(hz: number, rate: number, seconds: number, amplitude = 8000): Int16Array {
  const out = new Int16Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++)
    out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

/** RMS of 8-bit ADC samples around 128, in the middle half (away from the edges). */
function rms(u8: Uint8Array): number {
  const a = Math.floor(u8.length / 4);
  let sum = 0;
  for (let i = a; i < u8.length - a; i++) sum += ((u8[i] as number) - 128) ** 2;
  return Math.sqrt(sum / (u8.length - 2 * a));
}

describe('sim: what the microphone hears', () => {
  it("a tone above the mic rate's Nyquist is filtered out, not aliased into the speech band", () => {
    // 6 kHz fed at 16 kHz into an 8 kHz mic: plain decimation would hear it as a full-level 2 kHz tone.
    expect(rms(heardByMic(tone(6000, 16000, 0.5), 16000, 8000))).to.be.below(1);
  });

  it('a tone in band passes at its level, and audio at the mic rate is only quantised', () => {
    const level = 8000 / 256 / Math.SQRT2; // 8-bit RMS of an 8000-amplitude sine
    expect(rms(heardByMic(tone(1000, 16000, 0.5), 16000, 8000))).to.be.closeTo(level, 1);
    const same = tone(1000, 8000, 0.1);
    expect(Array.from(heardByMic(same, 8000, 8000).slice(0, 4))).to.deep.equal(
      Array.from(same.slice(0, 4), (s) => ((s >> 8) + 128) & 0xff),
    );
  });
});
