/**
 * What the WebSocket adapters (OpenAI Realtime, Doubao) share: the utterance check, the errors a
 * refused upgrade, a socket error and a close become (server text redacted), tearing a socket down,
 * and the end of a turn.
 */
import type { IncomingMessage } from 'node:http';
import type { Subscriber } from 'rxjs';
import type WebSocket from 'ws';
import { kindForStatus, retryAfterMs, serverMessage } from './http';
import { redact, type Secret } from './secret';
import { VoiceError, type VoiceErrorKind, type VoiceEvent, type VoiceRequest } from './types';

/** Close code → error kind. */
export function kindForClose(code: number): VoiceErrorKind {
  if (code === 1006) return 'network';
  if (code === 1013) return 'rate-limited';
  if (code === 1011 || code === 1012 || code === 1014) return 'server';
  if (code === 1008 || code === 4001 || code === 4003) return 'auth';
  if (code === 1002 || code === 1003 || code === 1007 || code === 1009) return 'bad-request';
  return 'closed';
}

/** Why `name` cannot take this utterance (closed, impossible rate, no audio), or undefined. */
export function utteranceError(name: string, closed: boolean, req: VoiceRequest): VoiceError | undefined {
  if (closed) return new VoiceError('closed', `${name}: service is closed`);
  if (!Number.isInteger(req.sampleRate) || req.sampleRate < 1000 || req.sampleRate > 384000) {
    return new VoiceError(
      'bad-request',
      `utterance sample rate must be an integer in Hz, got ${String(req.sampleRate)}`,
    );
  }
  if (req.audio.length === 0) return new VoiceError('bad-request', 'utterance has no audio');
  return undefined;
}

/** An error as a subscriber gets it: a VoiceError with its message redacted; anything else is network. */
export function asVoiceError(e: unknown, name: string, key: Secret | undefined): VoiceError {
  if (e instanceof VoiceError)
    return new VoiceError(e.kind, redact(e.message, key), e.status, e.retryAfterMs);
  const msg = e instanceof Error ? e.message : String(e);
  return new VoiceError('network', `${name}: ${redact(msg, key)}`);
}

/**
 * A refused upgrade (`what connect: HTTP status: server text (X-Tt-Logid …)`): the status's kind and
 * Retry-After, once the body is read.
 */
export function upgradeRefused(
  res: IncomingMessage,
  what: string,
  key: Secret | undefined,
  fail: (e: VoiceError) => void,
): void {
  const status = res.statusCode ?? 0;
  const chunks: Buffer[] = [];
  const header = (name: string): string | null => {
    const v = res.headers[name];
    return typeof v === 'string' ? v : null;
  };
  const logId = header('x-tt-logid');
  const at = logId !== null ? ` (X-Tt-Logid ${logId})` : '';
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => {
    const msg = serverMessage(Buffer.concat(chunks).toString('utf8'));
    fail(
      new VoiceError(
        kindForStatus(status),
        `${what} connect: HTTP ${String(status)}${msg ? `: ${redact(msg, key)}` : ''}${at}`,
        status,
        retryAfterMs({ get: header }),
      ),
    );
  });
  res.on('error', () =>
    fail(new VoiceError(kindForStatus(status), `${what} connect: HTTP ${String(status)}`, status)),
  );
}

/** A socket error: a handshake that timed out is a timeout, anything else network. */
export function socketError(e: Error, what: string, key: Secret | undefined): VoiceError {
  const timeout = /timed out/i.test(e.message);
  return new VoiceError(timeout ? 'timeout' : 'network', `${what} connection: ${redact(e.message, key)}`);
}

/** A closed socket, its kind by close code. */
export function socketClosed(
  code: number,
  reason: Buffer,
  what: string,
  key: Secret | undefined,
): VoiceError {
  const why = redact(reason.toString('utf8'), key);
  return new VoiceError(
    kindForClose(code),
    `${what} connection closed (code ${String(code)}${why ? `: ${why}` : ''})`,
  );
}

/** Stop listening to a socket and terminate it (a late error event is swallowed). */
export function discard(ws: WebSocket): void {
  ws.removeAllListeners();
  ws.on('error', () => undefined);
  ws.terminate();
}

/**
 * End a turn's subscription (unless it was dropped or already ended): with the error, or with the
 * final assistant transcript and done.
 */
export function settleTurn(
  turn: { sub: Subscriber<VoiceEvent>; detached: boolean; text: string },
  error?: VoiceError,
): void {
  if (turn.detached || turn.sub.closed) return;
  if (error) {
    turn.sub.error(error);
    return;
  }
  turn.sub.next({ kind: 'transcript', role: 'assistant', text: turn.text, final: true });
  turn.sub.next({ kind: 'done' });
  turn.sub.complete();
}

/** The device's session, made on first use. */
export function sessionOf<S>(sessions: Map<string, S>, deviceId: string, make: () => S): S {
  let s = sessions.get(deviceId);
  if (s === undefined) {
    s = make();
    sessions.set(deviceId, s);
  }
  return s;
}
