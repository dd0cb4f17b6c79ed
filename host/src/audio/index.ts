/**
 * Audio conversion for the bridge: sample formats, band-limited resampling, WAV files.
 */
export { u8ToS16, s16ToU8, s16FromLE, writeS16LE, durationMs } from './pcm';
export { resample, Resampler, ResampleError } from '@budlink/protocol/audio';
export * from './wav';
