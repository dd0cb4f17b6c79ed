/** The per-device pipeline: one operator per file, composed by runSession. */
export * from './types';
export { printable } from './printable';
export { deframe } from './deframe';
export { keepAlive, KeepAliveTimeoutError, type KeepAliveOptions } from './keep-alive';
export {
  reassemble,
  type ReassemblyInput,
  type ReassemblyOutput,
  type ReassembleOptions,
  type UtteranceFrame,
} from './reassemble';
export { verifyWake, type VerifiedUtterance, type VerifyWakeOptions } from './verify-wake';
export { toDeviceAudio, encodeSamples, bytesPerSample, type DeviceAudioFormat } from './to-device-audio';
export { packetize } from './packetize';
export {
  pacePlayback,
  PlaybackStallError,
  type PlaybackOutput,
  type PlaybackProgress,
  type PacePlaybackOptions,
} from './pace-playback';
export {
  sessionState,
  transition,
  TIMEOUT_DETAIL,
  type SessionInput,
  type PhaseTimeouts,
  type SessionStateOptions,
} from './session-state';
export { statusMetrics } from './status-metrics';
export { runSession, type SessionOptions } from './session';
export { Handshake, type HandshakeOptions, type HelloOutcome, type Negotiated } from './handshake';
export { ReportTracker, type ReportTrackerOptions, type Stage } from './report-tracker';
export {
  ReplyController,
  utteranceToS16,
  type ReplyControllerOptions,
  type ReplyEnd,
  type ReplyFormat,
} from './reply-controller';
export { Downlink, type DownlinkOptions } from './downlink';
export { UplinkDispatch, type UplinkDispatchParts } from './uplink-dispatch';
export { ConnectionLifecycle, type ConnectionLifecycleParts } from './connection-lifecycle';
