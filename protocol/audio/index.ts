/**
 * `@budlink/protocol/audio`: the audio both ends of the link use, for Node only (the firmware never
 * bundles it; the wire code the device runs is `src/`). Today the WAV codec and the helpers the
 * simulated microphone needs.
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
  resampleLinear,
  type Wav,
  type WavErrorCode,
  type WavFormat,
  type DecodedWav,
  type EncodeWavOptions,
} from './wav';
