/** The per-device pipeline: one operator per file, composed by runSession. */
export * from './types';
export { deframe } from './deframe';
export { keepAlive, KeepAliveTimeoutError, type KeepAliveOptions } from './keepAlive';
export {
  reassemble,
  type ReassemblyInput,
  type ReassemblyOutput,
  type ReassembleOptions,
  type UtteranceFrame,
} from './reassemble';
export { verifyWake, type VerifiedUtterance, type VerifyWakeOptions } from './verifyWake';
export { toDeviceAudio, encodeSamples, bytesPerSample, type DeviceAudioFormat } from './toDeviceAudio';
export { packetize } from './packetize';
export {
  pacePlayback,
  PlaybackStallError,
  type PlaybackOutput,
  type PlaybackProgress,
  type PacePlaybackOptions,
} from './pacePlayback';
export {
  sessionState,
  transition,
  TIMEOUT_DETAIL,
  type SessionInput,
  type PhaseTimeouts,
  type SessionStateOptions,
} from './sessionState';
export { statusMetrics } from './statusMetrics';
export { runSession, utteranceToS16, type SessionHooks, type SessionOptions } from './session';
