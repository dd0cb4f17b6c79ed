/**
 * What the simulated microphone hears of fed audio, on both engines: the audio band-limited to the
 * ADC's rate (the bridge's own resampler: a windowed-sinc low-pass, so no energy above the new Nyquist
 * aliases into speech), then quantised to 8 bits as the nRF52's ADC gives it. Audio already at the
 * ADC's rate is only quantised; 8-bit audio is taken as the ADC would have given it.
 */
import { quantise16to8, resample } from '@budlink/protocol/audio';

/** `samples` at `from` Hz as the ADC's 8-bit samples at `to` Hz. */
export function heardByMic(samples: Uint8Array | Int16Array, from: number, to: number): Uint8Array {
  if (samples instanceof Uint8Array) {
    if (from === to) return samples;
    const s16 = new Int16Array(samples.length);
    for (let i = 0; i < samples.length; i++) s16[i] = ((samples[i] as number) - 128) << 8;
    return quantise16to8(resample(s16, from, to));
  }
  return quantise16to8(from === to ? samples : resample(samples, from, to));
}
