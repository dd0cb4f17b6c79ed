/**
 * Volcengine's Doubao end-to-end realtime speech dialogue ("端到端实时语音大模型API接入文档",
 * https://www.volcengine.com/docs/6561/1594356) over its binary WebSocket protocol
 * (doubao-protocol.ts). One connection and one session per device, opened on its first utterance
 * and reused (the conversation lives server-side; a dropped session starts afresh):
 *
 *   upgrade with X-Api-App-ID, X-Api-Access-Key, X-Api-Resource-Id, X-Api-App-Key, X-Api-Connect-Id
 *   StartConnection → ConnectionStarted; StartSession → SessionStarted
 *   per utterance: TaskRequest × n (16 kHz s16le, 20 ms each), EndASR
 *   server: ASRInfo, ASRResponse, ASREnded, ChatResponse, TTSSentenceStart, TTSResponse, TTSEnded
 *   close(): FinishSession → SessionFinished; FinishConnection → ConnectionFinished
 *
 * Turn detection is ours (the earbud's gate), so the session runs in the documented push_to_talk
 * input mode: no server VAD, EndASR marks the end of the audio, ClientInterrupt stops a reply.
 * StartSession asks for tts.audio_config pcm_s16le at 24 kHz (the service's default is OGG/Opus;
 * its "pcm" is float32).
 *
 * Barge-in: ASRInfo is the server's signal that new speech was heard; after it, reply audio reaches
 * the current turn only from the TTSSentenceStart of its own question (question_id), so audio of
 * an interrupted reply still in flight is dropped. truncate(deviceId, heardMs) interrupts a reply in
 * progress (ClientInterrupt; the turn ends with its final transcript and done) and sends
 * ConversationTruncate { item_id: <last reply_id>, audio_end_ms } (enabled in StartSession with
 * dialog.extra.enable_conversation_truncate), resolving on ConversationTruncated.
 */
import { randomUUID } from 'node:crypto';
import { Observable, type Subscriber } from 'rxjs';
import WebSocket from 'ws';
import { resample } from '../audio/index';
import type { VoiceConfig } from './config';
import {
  audioRequest,
  ClientEvent,
  clientEvent,
  decodeFrame,
  DOUBAO_APP_KEY,
  DoubaoProtocolError,
  type Frame,
  jsonOf,
  MessageType,
  ServerEvent,
} from './doubao-protocol';
import { serverMessage } from './http';
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
import {
  DOUBAO_INPUT_RATE,
  DOUBAO_OUTPUT_RATE,
  PACKET_BYTES,
  kindForDoubaoError,
  startSessionPayload,
} from './doubao-session';

type Json = Record<string, unknown>;

interface Turn {
  sub: Subscriber<VoiceEvent>;
  detached: boolean;
  /** The audio and EndASR went out: the server answers, and ClientInterrupt means something. */
  sent: boolean;
  questionId?: string;
  asrEnded: boolean;
  userText: string;
  userEmitted: boolean;
  /** Reply audio reaches the turn only after a TTSSentenceStart of its own question. */
  gateOpen: boolean;
  text: string;
}

interface Waiter {
  events: readonly number[];
  resolve: (f: Frame | undefined) => void;
  reject: (e: VoiceError) => void;
  timer?: NodeJS.Timeout;
}

interface PendingTruncate {
  resolve: () => void;
  reject: (e: VoiceError) => void;
  timer: NodeJS.Timeout;
}

class Session {
  ws: WebSocket | undefined;
  ready: Promise<void> | undefined;
  readonly sessionId = randomUUID();
  started = false;
  turn: Turn | undefined;
  /** The last reply (its reply_id) and the audio received for it. */
  lastReply: { id: string; ms: number } | undefined;
  /** The reply incoming audio belongs to; cleared by an interrupt. */
  audioReply: string | undefined;
  /** The reply an interrupt cut: what still arrives of it is not counted. */
  cutReply: string | undefined;
  /** Odd trailing byte of reply audio, completed by the next frame. */
  carry: number | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  truncates: PendingTruncate[] = [];
  waiters: Waiter[] = [];
  /** X-Tt-Logid of the upgrade response, for error messages. */
  logId: string | undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export class DoubaoVoiceService implements VoiceService {
  readonly name = 'doubao-realtime';
  private readonly sessions = new Map<string, Session>();
  private closed = false;

  constructor(private readonly config: VoiceConfig) {}

  respond(req: VoiceRequest): Observable<VoiceEvent> {
    return new Observable<VoiceEvent>((sub) => {
      const refused = utteranceError(this.name, this.closed, req);
      if (refused) {
        sub.error(refused);
        return undefined;
      }
      const turn: Turn = {
        sub,
        detached: false,
        sent: false,
        asrEnded: false,
        userText: '',
        userEmitted: false,
        gateOpen: false,
        text: '',
      };
      const session = sessionOf(this.sessions, req.deviceId, () => new Session());
      // A new utterance supersedes the reply still playing.
      const old = session.turn;
      if (old) {
        this.interrupt(session, old);
        this.finishTurn(session, old, new VoiceError('cancelled', 'superseded by a newer utterance'));
      }
      session.turn = turn;
      this.connect(req.deviceId, session)
        .then(() => {
          if (session.turn !== turn || turn.detached) return;
          const pcm =
            req.sampleRate === DOUBAO_INPUT_RATE
              ? req.audio
              : resample(req.audio, req.sampleRate, DOUBAO_INPUT_RATE);
          const bytes = Buffer.alloc(pcm.length * 2);
          for (let i = 0; i < pcm.length; i++) bytes.writeInt16LE(pcm[i] as number, 2 * i);
          for (let i = 0; i < bytes.length; i += PACKET_BYTES)
            this.send(session, audioRequest(session.sessionId, bytes.subarray(i, i + PACKET_BYTES)));
          this.send(session, clientEvent(ClientEvent.EndASR, {}, session.sessionId));
          turn.sent = true;
          this.armIdle(req.deviceId, session);
        })
        .catch((e: unknown) => {
          if (session.turn === turn) this.finishTurn(session, turn, this.toVoiceError(e));
        });
      return () => {
        if (session.turn !== turn) return;
        turn.detached = true;
        this.interrupt(session, turn);
        this.endTurn(session, turn);
      };
    });
  }

  async truncate(deviceId: string, heardMs: number): Promise<void> {
    const session = this.sessions.get(deviceId);
    if (!session || !session.started || session.ws?.readyState !== WebSocket.OPEN) return;
    if (session.turn) {
      // The reply is cut where the listener stopped it: the turn ends normally, not as an error.
      this.interrupt(session, session.turn);
      this.finishTurn(session, session.turn);
    }
    const reply = session.lastReply;
    if (!reply) return;
    const ms = Math.max(
      0,
      Math.min(Math.round(Number.isFinite(heardMs) ? heardMs : 0), Math.floor(reply.ms)),
    );
    const acked = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        session.truncates = session.truncates.filter((t) => t.timer !== timer);
        reject(
          new VoiceError(
            'timeout',
            `ConversationTruncate not acknowledged within ${String(this.config.timeouts.requestMs)} ms`,
          ),
        );
      }, this.config.timeouts.requestMs);
      session.truncates.push({ resolve, reject, timer });
    });
    this.send(
      session,
      clientEvent(
        ClientEvent.ConversationTruncate,
        { item_id: reply.id, audio_end_ms: ms },
        session.sessionId,
      ),
    );
    // The server now keeps only ms of this reply: later truncates cannot reach past it.
    reply.ms = ms;
    await acked;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.sessions.entries()];
    this.sessions.clear();
    const closing = new VoiceError('closed', `${this.name}: service closed`);
    await Promise.all(
      all.map(async ([deviceId, s]) => {
        if (s.turn) this.finishTurn(s, s.turn, closing);
        // The documentation asks for FinishSession, its answer, then FinishConnection, before the
        // socket closes (else the service logs ContextCanceled); each wait is bounded.
        if (s.started && s.ws?.readyState === WebSocket.OPEN) {
          const bound = Math.min(this.config.timeouts.requestMs, 2000);
          try {
            this.send(s, clientEvent(ClientEvent.FinishSession, {}, s.sessionId));
            await this.expect(deviceId, s, [ServerEvent.SessionFinished], 'FinishSession', bound);
            this.send(s, clientEvent(ClientEvent.FinishConnection, {}));
            await this.expect(deviceId, s, [ServerEvent.ConnectionFinished], 'FinishConnection', bound);
          } catch {
            // closing anyway
          }
        }
        this.drop(deviceId, s, closing);
      }),
    );
  }

  private send(session: Session, frame: Buffer): void {
    const ws = session.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN)
      throw new VoiceError('closed', `${this.name}: connection is not open`);
    ws.send(frame);
  }

  /** ClientInterrupt for a turn whose audio went out; its remaining reply audio is not counted. */
  private interrupt(session: Session, turn: Turn): void {
    if (!turn.sent) return;
    session.cutReply = session.audioReply ?? session.lastReply?.id;
    session.audioReply = undefined;
    try {
      this.send(session, clientEvent(ClientEvent.ClientInterrupt, {}, session.sessionId));
    } catch {
      // connection gone: nothing to interrupt
    }
  }

  private toVoiceError(e: unknown): VoiceError {
    return asVoiceError(e, this.name, this.config.doubao.accessKey);
  }

  private endTurn(session: Session, turn: Turn): void {
    if (session.turn === turn) session.turn = undefined;
    if (session.turn === undefined && session.idleTimer) {
      clearTimeout(session.idleTimer);
      session.idleTimer = undefined;
    }
  }

  /** End a turn: error it, or emit the final transcript + done and complete. */
  private finishTurn(session: Session, turn: Turn, error?: VoiceError): void {
    this.endTurn(session, turn);
    settleTurn(turn, error && this.toVoiceError(error));
  }

  /** The user's transcript goes first, once, whatever the server sends before ASREnded. */
  private emitUser(turn: Turn): void {
    if (turn.userEmitted || turn.detached) return;
    turn.userEmitted = true;
    turn.sub.next({ kind: 'transcript', role: 'user', text: turn.userText.trim(), final: true });
  }

  private armIdle(deviceId: string, session: Session): void {
    if (session.idleTimer) clearTimeout(session.idleTimer);
    if (!session.turn) return;
    session.idleTimer = setTimeout(() => {
      session.idleTimer = undefined;
      this.fail(
        deviceId,
        session,
        new VoiceError('timeout', `${this.name}: no event for ${String(this.config.timeouts.idleMs)} ms`),
      );
    }, this.config.timeouts.idleMs);
  }

  /** Everything about this session failed: the turn, waiters and truncates get err; it is dropped. */
  private fail(deviceId: string, session: Session, err: VoiceError): void {
    if (session.turn) this.finishTurn(session, session.turn, err);
    this.drop(deviceId, session, err);
  }

  private drop(deviceId: string, session: Session, err: VoiceError): void {
    if (this.sessions.get(deviceId) === session) this.sessions.delete(deviceId);
    session.ready = undefined;
    session.started = false;
    for (const w of session.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    for (const t of session.truncates.splice(0)) {
      clearTimeout(t.timer);
      t.reject(err);
    }
    if (session.idleTimer) clearTimeout(session.idleTimer);
    session.idleTimer = undefined;
    if (session.ws) discard(session.ws);
    session.ws = undefined;
  }

  /** Wait for one of `events` (or, with none, for the socket to open), failing the session after ms. */
  private expect(
    deviceId: string,
    session: Session,
    events: readonly number[],
    what: string,
    ms = this.config.timeouts.requestMs,
  ): Promise<Frame | undefined> {
    return new Promise((resolve, reject) => {
      const w: Waiter = { events, resolve, reject };
      w.timer = setTimeout(() => {
        this.fail(
          deviceId,
          session,
          new VoiceError('timeout', `${this.name}: ${what} not answered within ${String(ms)} ms`),
        );
      }, ms);
      session.waiters.push(w);
    });
  }

  private connect(deviceId: string, session: Session): Promise<void> {
    if (session.ready) return session.ready;
    const c = this.config.doubao;
    const key = c.accessKey;
    const headers: Record<string, string> = {
      'X-Api-App-ID': c.appId ?? '',
      'X-Api-Access-Key': key?.reveal() ?? '',
      'X-Api-Resource-Id': c.resourceId,
      'X-Api-App-Key': DOUBAO_APP_KEY,
      'X-Api-Connect-Id': randomUUID(),
    };
    const opened = this.expect(deviceId, session, [], 'the WebSocket upgrade');
    const ws = new WebSocket(c.url, { headers, handshakeTimeout: this.config.timeouts.requestMs });
    session.ws = ws;
    const fail = (err: VoiceError): void => this.fail(deviceId, session, err);
    ws.on('upgrade', (res) => {
      const id = res.headers['x-tt-logid'];
      if (typeof id === 'string') session.logId = id;
    });
    ws.on('unexpected-response', (_req, res) => upgradeRefused(res, this.name, key, fail));
    ws.on('open', () => {
      const w = session.waiters.find((x) => x.events.length === 0);
      if (!w) return;
      session.waiters = session.waiters.filter((x) => x !== w);
      clearTimeout(w.timer);
      w.resolve(undefined);
    });
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (!isBinary) {
        fail(new VoiceError('malformed', `${this.name}: server sent a text frame; the protocol is binary`));
        return;
      }
      try {
        this.onFrame(deviceId, session, decodeFrame(toBuffer(data)));
      } catch (e) {
        fail(
          e instanceof VoiceError
            ? e
            : new VoiceError(
                'malformed',
                `${this.name}: ${e instanceof DoubaoProtocolError ? e.message : String(e)}`,
              ),
        );
      }
    });
    ws.on('error', (e: Error) => fail(socketError(e, this.name, key)));
    ws.on('close', (code: number, reason: Buffer) => fail(socketClosed(code, reason, this.name, key)));
    session.ready = (async () => {
      await opened;
      this.send(session, clientEvent(ClientEvent.StartConnection, {}));
      await this.expect(deviceId, session, [ServerEvent.ConnectionStarted], 'StartConnection');
      this.send(
        session,
        clientEvent(ClientEvent.StartSession, startSessionPayload(this.config), session.sessionId),
      );
      await this.expect(deviceId, session, [ServerEvent.SessionStarted], 'StartSession');
      session.started = true;
    })();
    return session.ready;
  }

  /** An error reported by the server, with its log id. */
  private serverError(session: Session, kind: VoiceErrorKind, what: string, message: string): VoiceError {
    const at = session.logId ? ` (X-Tt-Logid ${session.logId})` : '';
    return new VoiceError(
      kind,
      `${this.name}: ${what}: ${redact(message, this.config.doubao.accessKey)}${at}`,
    );
  }

  private onFrame(deviceId: string, session: Session, frame: Frame): void {
    if (session.turn) this.armIdle(deviceId, session);
    if (frame.type === MessageType.Error) {
      const text = frame.payload.toString('utf8');
      const msg = serverMessage(text) || 'error frame';
      throw this.serverError(
        session,
        kindForDoubaoError(frame.code, msg),
        `error ${String(frame.code)}`,
        msg,
      );
    }
    if (frame.type !== MessageType.FullServer && frame.type !== MessageType.AudioOnlyServer)
      throw new VoiceError('malformed', `${this.name}: server sent a client message type`);
    const event = frame.event;
    if (event === undefined) throw new VoiceError('malformed', `${this.name}: server frame without an event`);
    if (frame.sessionId && frame.sessionId !== session.sessionId)
      throw new VoiceError('malformed', `${this.name}: event ${String(event)} names another session`);
    if (event === ServerEvent.TTSResponse) {
      this.onAudio(session, frame.payload);
      return;
    }
    const j = jsonOf(frame);
    const w = session.waiters.find((x) => x.events.includes(event));
    if (w) {
      session.waiters = session.waiters.filter((x) => x !== w);
      clearTimeout(w.timer);
      w.resolve(frame);
      return;
    }
    const turn = session.turn;
    const live = turn && !turn.detached ? turn : undefined;
    // Does an event naming this question (or none, once ASR has ended) belong to the turn?
    const ours = (q: string | undefined): boolean =>
      live !== undefined &&
      (q !== undefined && live.questionId !== undefined ? q === live.questionId : live.asrEnded);
    switch (event) {
      case ServerEvent.ConnectionFailed:
      case ServerEvent.SessionFailed:
        throw this.serverError(
          session,
          kindForDoubaoError(undefined, str(j.error) ?? ''),
          event === ServerEvent.ConnectionFailed ? 'ConnectionFailed' : 'SessionFailed',
          str(j.error) ?? 'no reason given',
        );
      case ServerEvent.SessionFinished:
      case ServerEvent.ConnectionFinished:
        throw new VoiceError('closed', `${this.name}: the server finished the session`);
      case ServerEvent.DialogCommonError: {
        const code = Number(j.status_code);
        const msg = str(j.message) ?? 'dialog error';
        const err = this.serverError(
          session,
          kindForDoubaoError(Number.isFinite(code) ? code : undefined, msg),
          `DialogCommonError ${String(j.status_code)}`,
          msg,
        );
        const t = !turn ? session.truncates.shift() : undefined;
        if (t) {
          clearTimeout(t.timer);
          t.reject(err);
          return;
        }
        throw err;
      }
      case ServerEvent.ConversationTruncated: {
        const t = session.truncates.shift();
        if (t) {
          clearTimeout(t.timer);
          t.resolve();
        }
        return;
      }
      case ServerEvent.ASRInfo:
        // New speech heard: from here the reply audio in flight is not this turn's.
        if (live && live.questionId === undefined) {
          live.questionId = str(j.question_id);
          live.gateOpen = false;
        }
        return;
      case ServerEvent.ASRResponse: {
        if (!live || live.asrEnded) return;
        const results = Array.isArray(j.results) ? j.results : [];
        const texts = results
          .map((r) => (typeof r === 'object' && r !== null ? str((r as Json).text) : undefined))
          .filter((t): t is string => t !== undefined);
        if (texts.length > 0) live.userText = texts.join('');
        return;
      }
      case ServerEvent.ASREnded:
        if (live) {
          live.asrEnded = true;
          this.emitUser(live);
        }
        return;
      case ServerEvent.ChatResponse:
        if (!ours(str(j.question_id)) || !live) return;
        this.emitUser(live);
        live.text += str(j.content) ?? '';
        if (live.text.length > MAX_REPLY_CHARS)
          throw new VoiceError(
            'malformed',
            `${this.name}: reply longer than ${MAX_REPLY_CHARS} characters, refused`,
          );
        live.sub.next({ kind: 'transcript', role: 'assistant', text: live.text, final: false });
        return;
      case ServerEvent.TTSSentenceStart: {
        const reply = str(j.reply_id);
        if (reply !== undefined && reply !== session.lastReply?.id) session.lastReply = { id: reply, ms: 0 };
        session.audioReply = reply === session.cutReply ? undefined : reply;
        if (live) live.gateOpen = ours(str(j.question_id));
        return;
      }
      case ServerEvent.TTSEnded:
        if (live && ours(str(j.question_id))) this.finishTurn(session, live);
        return;
      default:
        return;
    }
  }

  /** TTSResponse: 24 kHz s16le, counted towards its reply; emitted when the gate is open. */
  private onAudio(session: Session, payload: Buffer): void {
    if (session.carry === undefined && payload.subarray(0, 4).toString('latin1') === 'OggS')
      throw new VoiceError(
        'malformed',
        `${this.name}: TTSResponse is OGG/Opus, not the pcm_s16le StartSession asked for`,
      );
    let bytes = payload;
    if (session.carry !== undefined) {
      bytes = Buffer.concat([Buffer.from([session.carry]), payload]);
      session.carry = undefined;
    }
    if (bytes.length % 2 !== 0) {
      session.carry = bytes[bytes.length - 1];
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    const pcm = new Int16Array(bytes.length / 2);
    for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(2 * i);
    const reply = session.lastReply;
    if (reply && session.audioReply === reply.id) reply.ms += (pcm.length * 1000) / DOUBAO_OUTPUT_RATE;
    const turn = session.turn;
    if (!turn || turn.detached || !turn.gateOpen || pcm.length === 0) return;
    this.emitUser(turn);
    turn.sub.next({ kind: 'audio', pcm, sampleRate: DOUBAO_OUTPUT_RATE });
  }
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return data;
}
