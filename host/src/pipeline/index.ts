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
