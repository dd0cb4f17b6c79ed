/**
 * Voice services behind one streaming interface: OpenAI-compatible REST, OpenAI Realtime, Doubao
 * realtime dialogue, loopback.
 * Unsubscribing from respond() cancels the in-flight request.
 */
import type { Observable } from 'rxjs';

/**
 * Longest reply text accepted from a voice service (about 17 minutes of speech at 65 ms a
 * character): a stream that goes on past it is faulty or hostile, and is refused rather than spoken
 * for ever.
 */
export const MAX_REPLY_CHARS = 16000;

/** Longest reply audio accepted from a voice service (ms), for the same reason: 20 minutes. */
export const MAX_REPLY_AUDIO_MS = 20 * 60_000;

export interface VoiceRequest {
  /** Conversation key: history is kept per device. */
  deviceId: string;
  /** The utterance, 16-bit signed mono PCM. */
  audio: Int16Array;
  sampleRate: number;
}

export type VoiceEvent =
  | { kind: 'transcript'; role: 'user' | 'assistant'; text: string; final: boolean }
  /** Reply audio, 16-bit signed mono PCM at sampleRate (whatever the service returned). */
  | { kind: 'audio'; pcm: Int16Array; sampleRate: number }
  | { kind: 'done' };

export type VoiceErrorKind =
  | 'timeout'
  | 'rate-limited'
  | 'server'
  | 'auth'
  | 'bad-request'
  | 'malformed'
  | 'network'
  | 'closed'
  | 'cancelled'
  | 'config'
  /** Local service: a program it runs is not installed (the message names the Debian package). */
  | 'missing-binary'
  /** Local service: a program it runs failed (non-zero exit, killed, or output that makes no sense). */
  | 'child-failed';

/** Errors reach subscribers as VoiceError (never with the API key in the message). */
export class VoiceError extends Error {
  constructor(
    readonly kind: VoiceErrorKind,
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'VoiceError';
  }
}

export interface VoiceService {
  readonly name: string;
  respond(request: VoiceRequest): Observable<VoiceEvent>;
  /** Barge-in: cut the assistant's last reply in this device's history to what was heard. */
  truncate(deviceId: string, heardMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Why a local service (one with no server to refuse it) cannot take `request`: closed, a sample rate
 * that is not a positive integer, or no audio; undefined when it can.
 */
export function requestProblem(request: VoiceRequest, closed: boolean, name: string): VoiceError | undefined {
  if (closed) return new VoiceError('closed', `${name}: service is closed`);
  if (!Number.isInteger(request.sampleRate) || request.sampleRate <= 0) {
    return new VoiceError(
      'bad-request',
      `sample rate must be a positive integer, got ${String(request.sampleRate)}`,
    );
  }
  if (request.audio.length === 0) return new VoiceError('bad-request', 'utterance has no audio');
  return undefined;
}
