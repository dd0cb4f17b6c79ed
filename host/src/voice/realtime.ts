/**
 * OpenAI Realtime adapter over WebSocket (`ws`). One session per device, opened on its first
 * utterance and reused (the conversation lives server-side; a dropped session starts afresh).
 * Turn detection is ours (the earbud's wake gate), so server VAD is off: each utterance is
 * resampled to 24 kHz, sent as input_audio_buffer.append (base64 pcm16), committed, and a
 * response.create asks for the reply. Server events of both API generations are understood:
 * GA (response.output_audio.delta, response.output_audio_transcript.delta, conversation.item.added)
 * and the older beta names (response.audio.delta, response.audio_transcript.delta,
 * conversation.item.created). `realtimeProtocol` only selects the session.update shape sent.
 *
 * Barge-in: truncate(deviceId, heardMs) sends response.cancel when a response is in flight, then
 * conversation.item.truncate for the last assistant item with audio_end_ms = heardMs (clamped to
 * the audio received), and waits for conversation.item.truncated.
 */
import { Observable, type Subscriber } from 'rxjs';
import WebSocket from 'ws';
import { resample } from '../audio/index';
import { keyGoesTo, realtimeUrlOf, type VoiceConfig } from './config';
import { redact } from './secret';
import {
  asVoiceError,
  discard,
  sessionOf,
  settleTurn,
  socketClosed,
  socketError,
  upgradeRefused,
  utteranceError,
} from './socket';
import {
  MAX_REPLY_CHARS,
  VoiceError,
  type VoiceErrorKind,
  type VoiceEvent,
  type VoiceRequest,
  type VoiceService,
} from './types';

/** The rate the Realtime API takes and returns pcm16 at. */
export const REALTIME_RATE = 24000;
/** Audio per input_audio_buffer.append event. */
const APPEND_SAMPLES = REALTIME_RATE / 2;

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface Turn {
  sub: Subscriber<VoiceEvent>;
  /** Unsubscribed: events are dropped until the response ends. */
  detached: boolean;
  responseId?: string;
  text: string;
  cancelSent: boolean;
  /** A response.create was sent (so a response.done will come). */
  created: boolean;
}

interface PendingTruncate {
  eventId: string;
  itemId: string;
  resolve: () => void;
  reject: (e: VoiceError) => void;
  timer: NodeJS.Timeout;
}

/** Realtime `error` payload → kind. */
function kindForErrorEvent(e: Json): VoiceErrorKind {
  const type = typeof e.type === 'string' ? e.type : '';
  const code = typeof e.code === 'string' ? e.code : '';
  if (/rate_limit/.test(code) || /rate_limit/.test(type)) return 'rate-limited';
  if (/auth|api_key|permission/.test(code) || /authentication|permission/.test(type)) return 'auth';
  if (type === 'server_error' || /server/.test(code)) return 'server';
  if (type === 'invalid_request_error') return 'bad-request';
  return 'server';
}

class Session {
  ws: WebSocket | undefined;
  ready: Promise<void> | undefined;
  turn: Turn | undefined;
  lastItemId: string | undefined;
  lastItemAudioMs = 0;
  outputRate = REALTIME_RATE;
  idleTimer: NodeJS.Timeout | undefined;
  truncates: PendingTruncate[] = [];
}

export class RealtimeVoiceService implements VoiceService {
  readonly name = 'openai-realtime';
  private readonly sessions = new Map<string, Session>();
  private closed = false;
  private eventSeq = 0;

  constructor(private readonly config: VoiceConfig) {}

  respond(req: VoiceRequest): Observable<VoiceEvent> {
    return new Observable<VoiceEvent>((sub) => {
      const refused = utteranceError(this.name, this.closed, req);
      if (refused) {
        sub.error(refused);
        return undefined;
      }
      const turn: Turn = { sub, detached: false, text: '', cancelSent: false, created: false };
      const session = sessionOf(this.sessions, req.deviceId, () => new Session());
      // A new utterance supersedes the reply still playing.
      const old = session.turn;
      if (old) {
        if (old.created) this.cancelResponse(session, old);
        this.finishTurn(session, old, new VoiceError('cancelled', 'superseded by a newer utterance'));
      }
      session.turn = turn;
      this.connect(req.deviceId, session)
        .then(() => {
          if (session.turn !== turn || turn.detached) return;
          const pcm =
            req.sampleRate === REALTIME_RATE ? req.audio : resample(req.audio, req.sampleRate, REALTIME_RATE);
          for (let i = 0; i < pcm.length; i += APPEND_SAMPLES) {
            this.send(session, {
              type: 'input_audio_buffer.append',
              audio: toBase64(pcm.subarray(i, i + APPEND_SAMPLES)),
            });
          }
          this.send(session, { type: 'input_audio_buffer.commit' });
          this.send(session, { type: 'response.create' });
          turn.created = true;
          this.armIdle(req.deviceId, session);
        })
        .catch((e: unknown) => {
          if (session.turn === turn) this.finishTurn(session, turn, this.toVoiceError(e));
        });
      return () => {
        if (session.turn !== turn) return;
        turn.detached = true;
        if (turn.created) this.cancelResponse(session, turn);
        else session.turn = undefined;
      };
    });
  }

  async truncate(deviceId: string, heardMs: number): Promise<void> {
    const session = this.sessions.get(deviceId);
    if (!session || !session.ws || session.ws.readyState !== WebSocket.OPEN) return;
    if (session.turn && session.turn.created) this.cancelResponse(session, session.turn);
    const itemId = session.lastItemId;
    if (!itemId) return;
    const ms = Math.max(
      0,
      Math.min(Math.round(Number.isFinite(heardMs) ? heardMs : 0), Math.floor(session.lastItemAudioMs)),
    );
    const eventId = this.nextEventId();
    const acked = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        session.truncates = session.truncates.filter((t) => t.eventId !== eventId);
        reject(
          new VoiceError(
            'timeout',
            `conversation.item.truncate not acknowledged within ${String(this.config.timeouts.requestMs)} ms`,
          ),
        );
      }, this.config.timeouts.requestMs);
      session.truncates.push({ eventId, itemId, resolve, reject, timer });
    });
    this.send(
      session,
      { type: 'conversation.item.truncate', item_id: itemId, content_index: 0, audio_end_ms: ms },
      eventId,
    );
    // The server now holds only ms of this item's audio: later truncates cannot reach past it.
    session.lastItemAudioMs = ms;
    await acked;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const [id, s] of this.sessions) {
      if (s.turn) this.finishTurn(s, s.turn, new VoiceError('closed', `${this.name}: service closed`));
      this.drop(id, s, new VoiceError('closed', `${this.name}: service closed`));
    }
    this.sessions.clear();
  }

  private nextEventId(): string {
    return `evt_budlink_${String(++this.eventSeq)}`;
  }

  private send(session: Session, event: Json, eventId = this.nextEventId()): void {
    const ws = session.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN)
      throw new VoiceError('closed', 'realtime connection is not open');
    ws.send(JSON.stringify({ event_id: eventId, ...event }));
  }

  private cancelResponse(session: Session, turn: Turn): void {
    if (turn.cancelSent) return;
    turn.cancelSent = true;
    try {
      this.send(session, { type: 'response.cancel' });
    } catch {
      // connection gone: nothing to cancel
    }
  }

  private toVoiceError(e: unknown): VoiceError {
    return asVoiceError(e, this.name, this.config.apiKey);
  }

  /** End a turn: error it, or emit final transcript + done and complete. */
  private finishTurn(session: Session, turn: Turn, error?: VoiceError): void {
    if (session.turn === turn) session.turn = undefined;
    if (session.turn === undefined && session.idleTimer) {
      clearTimeout(session.idleTimer);
      session.idleTimer = undefined;
    }
    settleTurn(turn, error && this.toVoiceError(error));
  }

  private armIdle(deviceId: string, session: Session): void {
    if (session.idleTimer) clearTimeout(session.idleTimer);
    if (!session.turn) return;
    session.idleTimer = setTimeout(() => {
      session.idleTimer = undefined;
      const err = new VoiceError(
        'timeout',
        `${this.name}: no event for ${String(this.config.timeouts.idleMs)} ms`,
      );
      if (session.turn) this.finishTurn(session, session.turn, err);
      // State unknown: start a fresh session next time.
      this.drop(deviceId, session, err);
    }, this.config.timeouts.idleMs);
  }

  private drop(deviceId: string, session: Session, err: VoiceError): void {
    if (this.sessions.get(deviceId) === session) this.sessions.delete(deviceId);
    for (const t of session.truncates) {
      clearTimeout(t.timer);
      t.reject(err);
    }
    session.truncates = [];
    if (session.idleTimer) clearTimeout(session.idleTimer);
    if (session.ws) discard(session.ws);
    session.ws = undefined;
  }

  private connect(deviceId: string, session: Session): Promise<void> {
    if (session.ready) return session.ready;
    const url = realtimeUrlOf(this.config);
    const headers: Record<string, string> = {};
    // The key goes only to baseUrl's service: a realtime URL elsewhere never sees it.
    const key = keyGoesTo(this.config, url) ? this.config.apiKey : undefined;
    if (key && !key.empty) headers.authorization = `Bearer ${key.reveal()}`;
    if (this.config.realtimeProtocol === 'beta') headers['openai-beta'] = 'realtime=v1';
    session.ready = new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url, { headers, handshakeTimeout: this.config.timeouts.requestMs });
      session.ws = ws;
      let opened = false;
      const fail = (err: VoiceError): void => {
        session.ready = undefined;
        if (!opened) reject(err);
        else {
          if (session.turn) this.finishTurn(session, session.turn, err);
        }
        this.drop(deviceId, session, err);
      };
      ws.on('unexpected-response', (_req, res) => upgradeRefused(res, 'realtime', key, fail));
      ws.on('open', () => {
        opened = true;
        try {
          this.send(session, this.sessionUpdate());
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        resolve();
      });
      ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
        if (isBinary) return;
        let ev: unknown;
        try {
          ev = JSON.parse(rawToString(data));
        } catch {
          fail(new VoiceError('malformed', `${this.name}: server sent a message that is not JSON`));
          return;
        }
        if (!isRecord(ev) || typeof ev.type !== 'string') {
          fail(new VoiceError('malformed', `${this.name}: server event without a type`));
          return;
        }
        try {
          this.onEvent(deviceId, session, ev);
        } catch (e) {
          fail(e instanceof VoiceError ? e : new VoiceError('malformed', `${this.name}: ${String(e)}`));
        }
      });
      ws.on('error', (e: Error) => fail(socketError(e, 'realtime', key)));
      ws.on('close', (code: number, reason: Buffer) => fail(socketClosed(code, reason, 'realtime', key)));
    });
    return session.ready;
  }

  private sessionUpdate(): Json {
    const c = this.config;
    const transcription: Json = { model: c.models.stt };
    if (c.language) transcription.language = c.language;
    if (c.realtimeProtocol === 'beta') {
      return {
        type: 'session.update',
        session: {
          modalities: ['text', 'audio'],
          instructions: c.systemPrompt,
          voice: c.voice,
          input_audio_format: 'pcm16',
          output_audio_format: 'pcm16',
          input_audio_transcription: transcription,
          turn_detection: null,
        },
      };
    }
    const format = { type: 'audio/pcm', rate: REALTIME_RATE };
    return {
      type: 'session.update',
      session: {
        type: 'realtime',
        model: c.models.realtime,
        instructions: c.systemPrompt,
        output_modalities: ['audio'],
        audio: {
          input: { format, transcription, turn_detection: null },
          output: { format, voice: c.voice },
        },
      },
    };
  }

  private onEvent(deviceId: string, session: Session, ev: Json): void {
    const turn = session.turn;
    if (turn) this.armIdle(deviceId, session);
    // Events of an earlier (cancelled) response can still arrive after a new turn began: only
    // response-scoped events carrying this turn's response id (or none) belong to it.
    const rid = typeof ev.response_id === 'string' ? ev.response_id : undefined;
    const ours =
      turn !== undefined && turn.responseId !== undefined && (rid === undefined || rid === turn.responseId);
    const live = ours && !turn.detached ? turn : undefined;
    switch (ev.type) {
      case 'session.updated': {
        const s = ev.session;
        const rate =
          isRecord(s) && isRecord(s.audio) && isRecord(s.audio.output) && isRecord(s.audio.output.format)
            ? s.audio.output.format.rate
            : undefined;
        if (typeof rate !== 'number') return;
        // what the bridge's resampler takes (as the REST adapter's Content-Type rates)
        if (!Number.isInteger(rate) || rate < 1000 || rate > 384000)
          throw new VoiceError('malformed', `${this.name}: session.updated with output rate ${String(rate)}`);
        session.outputRate = rate;
        return;
      }
      case 'response.created':
        if (turn && isRecord(ev.response) && typeof ev.response.id === 'string')
          turn.responseId = ev.response.id;
        return;
      case 'response.output_item.added':
      case 'conversation.item.added':
      case 'conversation.item.created': {
        const item = ev.item;
        if (
          isRecord(item) &&
          item.role === 'assistant' &&
          typeof item.id === 'string' &&
          item.id !== session.lastItemId
        ) {
          session.lastItemId = item.id;
          session.lastItemAudioMs = 0;
        }
        return;
      }
      case 'response.output_audio.delta':
      case 'response.audio.delta': {
        if (typeof ev.delta !== 'string')
          throw new VoiceError('malformed', `${this.name}: ${ev.type} without a base64 delta`);
        const pcm = fromBase64(ev.delta);
        if (typeof ev.item_id === 'string' && ev.item_id !== session.lastItemId) {
          session.lastItemId = ev.item_id;
          session.lastItemAudioMs = 0;
        }
        session.lastItemAudioMs += (pcm.length * 1000) / session.outputRate;
        if (live && pcm.length > 0) live.sub.next({ kind: 'audio', pcm, sampleRate: session.outputRate });
        return;
      }
      case 'response.output_audio_transcript.delta':
      case 'response.audio_transcript.delta':
      case 'response.output_text.delta':
      case 'response.text.delta':
        if (typeof ev.delta === 'string' && ours) {
          turn.text += ev.delta;
          if (turn.text.length > MAX_REPLY_CHARS)
            throw new VoiceError(
              'malformed',
              `${this.name}: reply longer than ${MAX_REPLY_CHARS} characters, refused`,
            );
          live?.sub.next({ kind: 'transcript', role: 'assistant', text: turn.text, final: false });
        }
        return;
      case 'response.output_audio_transcript.done':
      case 'response.audio_transcript.done':
        if (typeof ev.transcript === 'string' && ours) turn.text = ev.transcript;
        return;
      case 'conversation.item.input_audio_transcription.completed':
        // Not response-scoped: it belongs to the audio this turn committed.
        if (typeof ev.transcript === 'string' && turn && !turn.detached) {
          turn.sub.next({ kind: 'transcript', role: 'user', text: ev.transcript.trim(), final: true });
        }
        return;
      case 'conversation.item.truncated': {
        const i = session.truncates.findIndex((t) => t.itemId === ev.item_id);
        if (i >= 0) {
          const [t] = session.truncates.splice(i, 1);
          clearTimeout(t!.timer);
          t!.resolve();
        }
        return;
      }
      case 'response.done':
        this.responseDone(session, ev);
        return;
      case 'error':
        this.errorEvent(session, ev);
        return;
      default:
        return;
    }
  }

  /** response.done: the turn it belongs to ends, failed or not. */
  private responseDone(session: Session, ev: Json): void {
    const turn = session.turn;
    const r = isRecord(ev.response) ? ev.response : {};
    if (!turn || turn.responseId === undefined || (typeof r.id === 'string' && r.id !== turn.responseId))
      return;
    if (r.status === 'failed') {
      const details = isRecord(r.status_details) ? r.status_details : {};
      const err = isRecord(details.error) ? details.error : {};
      const msg = typeof err.message === 'string' ? err.message : 'response failed';
      this.finishTurn(
        session,
        turn,
        new VoiceError(kindForErrorEvent(err), `${this.name}: ${redact(msg, this.config.apiKey)}`),
      );
      return;
    }
    this.finishTurn(session, turn);
  }

  /** An error event: it fails the truncate it answers, or else the turn (a late cancel's is harmless). */
  private errorEvent(session: Session, ev: Json): void {
    const turn = session.turn;
    const e = isRecord(ev.error) ? ev.error : {};
    const msg = redact(typeof e.message === 'string' ? e.message : 'error event', this.config.apiKey);
    const kind = kindForErrorEvent(e);
    const t = session.truncates.find((p) => p.eventId === e.event_id);
    if (t) {
      session.truncates = session.truncates.filter((p) => p !== t);
      clearTimeout(t.timer);
      t.reject(new VoiceError(kind, `conversation.item.truncate: ${msg}`));
      return;
    }
    // Errors about our own cancel racing the end of a response are harmless.
    if (e.code === 'response_cancel_not_active') return;
    if (turn) this.finishTurn(session, turn, new VoiceError(kind, `${this.name}: ${msg}`));
  }
}

function rawToString(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function toBase64(pcm: Int16Array): string {
  const b = Buffer.alloc(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) b.writeInt16LE(pcm[i] as number, 2 * i);
  return b.toString('base64');
}

function fromBase64(s: string): Int16Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s))
    throw new VoiceError('malformed', 'realtime audio delta is not base64');
  const b = Buffer.from(s, 'base64');
  if (b.length % 2 !== 0)
    throw new VoiceError('malformed', 'realtime audio delta is not whole 16-bit samples');
  const out = new Int16Array(b.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = b.readInt16LE(2 * i);
  return out;
}
