/**
 * `@budlink/protocol/audio`: the audio both ends of the link use, for Node only (the firmware never
 * bundles it; the wire code the device runs is `src/`): the WAV codec, the ADC's 16 → 8-bit view, and
 * the band-limited resampler the bridge converts replies with and the simulated microphone hears
 * through.
 */
export {
  readWav,
  writeWav,
  parseWav,
  encodeWav,
  writeWavHeader,
  decodeWav,
  WavStreamDecoder,
  WavError,
  quantise16to8,
  type Wav,
  type WavErrorCode,
  type WavFormat,
  type DecodedWav,
  type EncodeWavOptions,
} from './wav';
export { resample, Resampler, ResampleError } from './resample';
export { mulberry32 } from './prng';
