/**
 * Types shared by the per-device pipeline operators (one operator per file in this folder) and the
 * session that composes them (session.ts).
 */
import type { Observable } from 'rxjs';
import type { AssistantStateCode, Frame, PlayFrame, TriggerCode } from '@budlink/protocol';
import type { VoiceRequest } from '../voice/types';

/** Log levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Structured logging; the CLI prints it as text or JSON lines. Never throws. */
export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything (tests, benches). */
export const silentLogger: Logger = { log: () => undefined };

/** One device's log: every line carries the device's id (and `extra` fields). */
export type DeviceLog = (level: LogLevel, message: string, extra?: Record<string, unknown>) => void;

export function deviceLog(logger: Logger, deviceId: string): DeviceLog {
  return (level, message, extra) => logger.log(level, message, { device: deviceId, ...extra });
}

/** Instrumentation points (benchmarks, dashboards); called synchronously, must not throw. */
export interface SessionHooks {
  /** Every decoded uplink frame, as it arrives. */
  uplinkFrame?(frame: Frame, at: number): void;
  /** An utterance is complete (its last missing frame arrived). */
  utteranceComplete?(utterance: Utterance, at: number): void;
  /** The voice request is being sent. */
  serviceRequest?(request: VoiceRequest, at: number): void;
  /** First reply audio of a reply arrived from the service. */
  firstReplyAudio?(at: number): void;
  /** A PLAY frame is being written (first: the first of its reply). */
  playFrame?(frame: PlayFrame, first: boolean, at: number): void;
}

/** What the device told us about how the utterance was triggered (from WAKE). */
export interface WakeInfo {
  trigger: TriggerCode;
  /** Detector confidence 0..255 (255 for tap/host). */
  score: number;
  preRollMs: number;
  /** Sample indices (from the utterance's first sample) of the wake word; equal for tap/host. */
  wakeStart: number;
  wakeEnd: number;
}

/** One complete, gap-free utterance as the device recorded it. */
export interface Utterance {
  deviceId: string;
  /** Utterance stream id (WAKE.stream). */
  stream: number;
  wake: WakeInfo;
  /** Device codec (Codec.PCM_U8 or Codec.PCM_S16LE) and rate of `samples`. */
  codec: number;
  sampleRate: number;
  /** Raw sample bytes in the device codec, in order. */
  samples: Uint8Array;
  /** END.reason */
  endReason: number;
  /** Frames that were missing at least once and recovered by NACK. */
  recovered: number;
  /** Frames lost for good (the device dropped them from its ring before they could be re-sent). */
  lost: number;
  /** Host clock (ms, performance.now()) of the WAKE frame and of the frame that completed it. */
  wakeAt: number;
  completedAt: number;
}

/** Verdict of a WakeVerifier. */
export interface WakeVerdict {
  accept: boolean;
  /** 0..1 confidence of the verifier. */
  score: number;
}

/**
 * Re-checks the wake word off the device (as Alexa's cloud does). The default accepts everything.
 * The utterance's samples are in the device codec; wake.wakeStart..wakeEnd index them.
 */
export interface WakeVerifier {
  /** A Promise, or an Observable whose first value is the verdict (lets tests run in virtual time). */
  verify(utterance: Utterance, wake: WakeInfo): Promise<WakeVerdict> | Observable<WakeVerdict>;
}

export const acceptAllVerifier: WakeVerifier = {
  verify: () => Promise.resolve({ accept: true, score: 1 }),
};

/** Session phases (the host's side of the state machine; see session-state.ts). */
export type Phase = 'handshake' | 'idle' | 'utterance' | 'verifying' | 'thinking' | 'speaking';

/** The STATE frame the earbud should show for each phase. */
export interface PhaseChange {
  from: Phase;
  to: Phase;
  /** What caused it, for logs: 'hello', 'wake', 'end', 'accept', 'reject', 'timeout', ... */
  cause: string;
  /** The STATE to send (undefined: none). */
  state?: AssistantStateCode;
  /** STATE.detail (an ErrorCode when state is ERROR). */
  detail: number;
}

/** Per-utterance stage timings in ms from the wake (host clock); undefined: stage not reached. */
export interface StageTimings {
  /** WAKE frame received (always 0). */
  wake: number;
  /** Utterance complete (END and every gap filled). */
  utteranceEnd?: number;
  /** Wake verdict known. */
  verified?: number;
  /** Voice service request sent. */
  serviceRequest?: number;
  /** First reply audio from the service. */
  firstReplyAudio?: number;
  /** First PLAY frame written to the device. */
  firstPlay?: number;
  /** Device reported the last sample played (or playback was cut). */
  playbackEnd?: number;
}

export interface UtteranceReport {
  deviceId: string;
  stream: number;
  /** undefined until the WAKE frame arrived (it may be recovered late). */
  trigger: TriggerCode | undefined;
  /** Samples and duration of the uplink utterance. */
  samples: number;
  durationMs: number;
  /** Frames recovered through NACK. */
  recovered: number;
  /** Frames lost for good (the utterance went on without them). */
  lost: number;
  /** END.reason (EndReason), once the utterance is complete. */
  endReason?: number;
  verdict?: WakeVerdict;
  /** Reply samples sent to the device (device rate). */
  replySamples: number;
  /** 'complete' | 'rejected' | 'cancelled' (barge-in) | 'error' | 'aborted' (timeout / lost) */
  outcome: 'complete' | 'rejected' | 'cancelled' | 'error' | 'aborted';
  error?: string;
  timings: StageTimings;
  transcript: { user?: string; assistant?: string };
}

/** Device health from STATUS frames. */
export interface DeviceMetrics {
  deviceId: string;
  /** Percent, undefined when the device does not know. */
  battery?: number;
  freeVars: number;
  overruns: number;
  drops: number;
  errors: number;
  uptimeS: number;
  at: number;
}

/** What a session reports while it runs. */
export type SessionEvent =
  | { kind: 'hello'; deviceId: string; board: string; payloadSize: number; sampleRate: number; codec: number }
  | { kind: 'phase'; deviceId: string; change: PhaseChange }
  | { kind: 'utterance'; deviceId: string; report: UtteranceReport }
  | { kind: 'status'; deviceId: string; metrics: DeviceMetrics }
  | { kind: 'device-log'; deviceId: string; level: number; text: string };
