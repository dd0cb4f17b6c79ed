/**
 * WAV for the bridge: the protocol package's codec (protocol/audio/wav.ts) is the repo's one RIFF/WAVE
 * implementation; the host re-exports it rather than keeping a second one.
 */
export {
  encodeWav,
  writeWavHeader,
  decodeWav,
  WavStreamDecoder,
  WavError,
  type WavErrorCode,
  type WavFormat,
  type DecodedWav,
  type EncodeWavOptions,
} from '@budlink/protocol/audio';
