/**
 * A local Doubao end-to-end realtime speech dialogue server for tests (127.0.0.1, ephemeral port),
 * after Volcengine's "端到端实时语音大模型API接入文档" (https://www.volcengine.com/docs/6561/1594356).
 * It speaks the binary frame protocol (doubao-protocol.ts), VALIDATES what the client sends (upgrade
 * path and headers, frame header bits, event order, StartSession payload, audio-only TaskRequests of
 * whole s16le samples, EndASR and ClientInterrupt only in push_to_talk, ConversationTruncate ids and
 * bounds) and answers violations with error frames (also recorded in `violations`).
 *
 * Per utterance it answers as the documentation's interaction example does: ASRInfo at the first
 * audio of a new question (and, like the real service, that stops a reply still streaming after a
 * few in-flight frames: the barge-in), ASRResponse, ASREnded, then ChatResponse, TTSSentenceStart,
 * TTSResponse audio, TTSSentenceEnd, ChatEnded, TTSEnded. Faults can be scripted per utterance.
 */
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { WebSocket, WebSocketServer } from 'ws';
import {
  ClientEvent,
  DOUBAO_APP_KEY,
  decodeFrame,
  encodeFrame,
  type Frame,
  MessageType,
  Serialization,
  ServerEvent,
} from '../../../host/src/voice/doubao-protocol';
import { Loopback, refuseUpgrade, stopWebSocketFake, webSocketServers } from './loopback';

export const DOUBAO_PATH = '/api/v3/realtime/dialogue';
const MODELS = ['1.2.1.1', '2.2.0.0'];
/** An error code of the documentation's table for StartSession payload problems. */
const BAD_START_SESSION = 42000020;
/** The code the fake uses for other protocol violations (invalid request). */
const INVALID = 45000001;

export type DoubaoFault =
  /** An error frame (message type 0b1111) with this code and `{ "error": message }`. */
  | { kind: 'error-frame'; code: number; message: string }
  /** DialogCommonError (599) `{ status_code, message }`. */
  | { kind: 'dialog-error'; statusCode: string; message: string }
  /** Close the socket with this code. */
  | { kind: 'close'; code: number; reason?: string }
  /** Say nothing after ASREnded (client idle timeout). */
  | { kind: 'silence' }
  /** Send these bytes as one message (binary, or text for a string) instead of a reply. */
  | { kind: 'raw'; data: Buffer | string }
  /** Reply audio as OGG pages (what the service sends without tts.audio_config). */
  | { kind: 'ogg' };

export interface FakeDoubaoOptions {
  appId?: string;
  accessKey?: string;
  /** Accept the TCP connection but never answer the upgrade. */
  hangUpgrade?: boolean;
  /** Reject the upgrade with this status (after the headers were checked). */
  rejectUpgrade?: { status: number; body?: string; headers?: Record<string, string> };
  /** Answer StartConnection with ConnectionFailed, StartSession with SessionFailed. */
  connectionFailed?: string;
  sessionFailed?: string;
  userTranscript?: string;
  replyText?: string;
  /** Audio per TTSResponse (ms) and number of them. */
  chunkMs?: number;
  chunks?: number;
  chunkDelayMs?: number;
  /** Reply frames still sent after the ASRInfo of a new question (in flight when it barged in). */
  staleFrames?: number;
  logId?: string;
}

interface Streaming {
  question: string;
  reply: string;
  stop: boolean;
  /** Set by barge-in: frames left before the reply stops. */
  staleLeft?: number;
}

interface Conn {
  ws: WebSocket;
  connectId: string;
  connected: boolean;
  sessionId?: string;
  pushToTalk: boolean;
  truncation: boolean;
  format?: string;
  /** The question being heard (after its first audio, until EndASR) and its audio bytes. */
  question?: string;
  questionBytes: number;
  streaming?: Streaming;
  /** Reply id → audio ms sent (after truncation: kept). */
  replies: Map<string, number>;
  seq: number;
}

export interface ReceivedEvent {
  event: number;
  sessionId?: string;
  json?: Record<string, unknown>;
  bytes?: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class FakeDoubaoServer {
  readonly received: ReceivedEvent[] = [];
  readonly violations: string[] = [];
  readonly upgrades: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
  readonly faults: DoubaoFault[] = [];
  /** TaskRequest payload sizes, in order. */
  readonly packets: number[] = [];
  /** Reply ids in the order they started. */
  readonly replies: string[] = [];
  /** StartSession payloads. */
  readonly sessions: Array<Record<string, unknown>> = [];
  connections = 0;
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly loopback = new Loopback();

  constructor(public options: FakeDoubaoOptions = {}) {}

  /** The X-Tt-Logid answered (the documentation's example value unless set). */
  get logId(): string {
    return this.options.logId ?? '20250506234111719BC62BBA7C4C0C635A';
  }

  get url(): string {
    return Loopback.baseUrl(this.http).replace(/^http/, 'ws').replace(/\/v1$/, DOUBAO_PATH);
  }

  events(): number[] {
    return this.received.map((e) => e.event);
  }

  async start(): Promise<this> {
    ({ http: this.http, wss: this.wss } = webSocketServers((wss, req, socket, head) => {
      const url = req.url ?? '';
      this.upgrades.push({ url, headers: req.headers });
      const reject = (status: number, body: string, headers: Record<string, string> = {}): void =>
        refuseUpgrade(socket, status, body, { 'x-tt-logid': this.logId, ...headers });
      if (new URL(url, 'http://x').pathname !== DOUBAO_PATH) return reject(404, '{"error":"not found"}');
      const h = (name: string): string | undefined => {
        const v = req.headers[name];
        return typeof v === 'string' ? v : undefined;
      };
      const missing = ['x-api-app-id', 'x-api-access-key', 'x-api-resource-id', 'x-api-app-key'].filter(
        (n) => !h(n),
      );
      if (missing.length > 0) {
        this.violations.push(`upgrade without ${missing.join(', ')}`);
        return reject(400, JSON.stringify({ error: `missing ${missing.join(', ')}` }));
      }
      if (h('x-api-resource-id') !== 'volc.speech.dialog' || h('x-api-app-key') !== DOUBAO_APP_KEY) {
        this.violations.push('upgrade with a resource id or app key other than the documented ones');
        return reject(400, '{"error":"resourceId or appKey not allowed"}');
      }
      const o = this.options;
      if (
        (o.appId !== undefined && h('x-api-app-id') !== o.appId) ||
        (o.accessKey !== undefined && h('x-api-access-key') !== o.accessKey)
      ) {
        // Like many services, echo what was sent: the client must redact it.
        return reject(
          401,
          JSON.stringify({ error: `grant not found for access key ${h('x-api-access-key')}` }),
        );
      }
      if (o.hangUpgrade) return;
      const rej = o.rejectUpgrade;
      if (rej)
        return reject(rej.status, rej.body ?? `{"error":"scripted ${String(rej.status)}"}`, rej.headers);
      wss.once('headers', (hs) => hs.push(`X-Tt-Logid: ${this.logId}`));
      wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, h('x-api-connect-id') ?? ''));
    }));
    await this.loopback.listen(this.http);
    return this;
  }

  async stop(): Promise<void> {
    await stopWebSocketFake(this.wss, this.http, this.loopback);
  }

  private sendJson(c: Conn, event: number, json: Record<string, unknown>): void {
    const connection = event >= 50 && event <= 52;
    this.sendFrame(
      c,
      encodeFrame({
        type: MessageType.FullServer,
        event,
        ...(connection ? { connectId: c.connectId } : { sessionId: c.sessionId ?? '' }),
        serialization: Serialization.Json,
        payload: Buffer.from(JSON.stringify(json)),
      }),
    );
  }

  private sendFrame(c: Conn, data: Buffer | string): void {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(data);
  }

  private sendError(c: Conn, code: number, message: string): void {
    this.sendFrame(
      c,
      encodeFrame({
        type: MessageType.Error,
        code,
        serialization: Serialization.Json,
        payload: Buffer.from(JSON.stringify({ error: message })),
      }),
    );
  }

  private violation(c: Conn, message: string, code = INVALID): void {
    this.violations.push(message);
    this.sendError(c, code, message);
  }

  private onConnection(ws: WebSocket, connectId: string): void {
    this.connections++;
    const c: Conn = {
      ws,
      connectId,
      connected: false,
      pushToTalk: false,
      truncation: false,
      questionBytes: 0,
      replies: new Map(),
      seq: 0,
    };
    ws.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) return this.violation(c, 'text frame: the protocol is binary');
      let f: Frame;
      try {
        f = decodeFrame(data);
      } catch (e) {
        return this.violation(c, `undecodable frame: ${(e as Error).message}`);
      }
      this.onFrame(c, f, data);
    });
  }

  private onFrame(c: Conn, f: Frame, data: Buffer): void {
    if (data[0] !== 0x11 || data[3] !== 0)
      return this.violation(
        c,
        `header bytes 0 and 3 must be 0x11 and 0, got ${String(data[0])}, ${String(data[3])}`,
      );
    if (f.event === undefined) return this.violation(c, 'frame without an event (flag 0b0100 is required)');
    const audio = f.event === ClientEvent.TaskRequest;
    if (f.type !== (audio ? MessageType.AudioOnlyClient : MessageType.FullClient))
      return this.violation(c, `event ${String(f.event)} with message type ${String(f.type)}`);
    if (f.serialization !== (audio ? Serialization.Raw : Serialization.Json))
      return this.violation(c, `event ${String(f.event)} with serialization ${String(f.serialization)}`);
    let json: Record<string, unknown> | undefined;
    if (!audio) {
      try {
        const v: unknown = JSON.parse(f.payload.toString('utf8') || '{}');
        if (!isRecord(v)) throw new Error('not an object');
        json = v;
      } catch {
        return this.violation(c, `event ${String(f.event)} payload is not a JSON object`);
      }
    }
    this.received.push({
      event: f.event,
      ...(f.sessionId !== undefined ? { sessionId: f.sessionId } : {}),
      ...(json ? { json } : { bytes: f.payload.length }),
    });
    if (f.event === ClientEvent.StartConnection || f.event === ClientEvent.FinishConnection) {
      if (f.sessionId !== undefined) return this.violation(c, 'connection event with a session id');
      return this.onConnectionEvent(c, f.event);
    }
    if (!c.connected) return this.violation(c, `event ${String(f.event)} before StartConnection`);
    if (!f.sessionId) return this.violation(c, `event ${String(f.event)} without a session id`);
    if (f.event === ClientEvent.StartSession) return this.onStartSession(c, f.sessionId, json ?? {});
    if (f.sessionId !== c.sessionId)
      return this.violation(c, `event ${String(f.event)} for session ${f.sessionId}, not the one started`);
    switch (f.event) {
      case ClientEvent.TaskRequest:
        return this.onAudio(c, f.payload);
      case ClientEvent.EndASR:
        if (!c.pushToTalk) return this.violation(c, 'EndASR outside push_to_talk');
        if (!c.question || c.questionBytes === 0) return this.violation(c, 'EndASR without audio');
        {
          const question = c.question;
          c.question = undefined;
          c.questionBytes = 0;
          void this.answer(c, question);
        }
        return;
      case ClientEvent.ClientInterrupt:
        if (!c.pushToTalk) return this.violation(c, 'ClientInterrupt outside push_to_talk');
        // The reply stops, after what is already in flight.
        if (c.streaming && c.streaming.staleLeft === undefined)
          c.streaming.staleLeft = this.options.staleFrames ?? 2;
        return;
      case ClientEvent.ConversationTruncate:
        return this.onTruncate(c, json ?? {});
      case ClientEvent.FinishSession:
        c.sessionId = undefined;
        this.sendJson(c, ServerEvent.SessionFinished, {});
        return;
      default:
        return this.violation(c, `unexpected event ${String(f.event)}`);
    }
  }

  private onConnectionEvent(c: Conn, event: number): void {
    if (event === ClientEvent.StartConnection) {
      if (c.connected) return this.violation(c, 'StartConnection twice');
      if (this.options.connectionFailed !== undefined) {
        this.sendJson(c, ServerEvent.ConnectionFailed, { error: this.options.connectionFailed });
        return;
      }
      c.connected = true;
      this.sendJson(c, ServerEvent.ConnectionStarted, {});
      return;
    }
    c.connected = false;
    this.sendJson(c, ServerEvent.ConnectionFinished, {});
    c.ws.close(1000);
  }

  private onStartSession(c: Conn, sessionId: string, j: Record<string, unknown>): void {
    if (c.sessionId !== undefined) return this.violation(c, 'StartSession while a session is started');
    this.sessions.push(j);
    const tts = j.tts;
    const dialog = j.dialog;
    const asr = j.asr;
    if (isRecord(asr) && asr.extra === null)
      return this.violation(c, 'StartSession event payload asr extra is null', BAD_START_SESSION);
    if (isRecord(tts) && tts.extra === null)
      return this.violation(c, 'StartSession event payload tts extra is null', BAD_START_SESSION);
    const extra = isRecord(dialog) && isRecord(dialog.extra) ? dialog.extra : {};
    if (!MODELS.includes(String(extra.model)))
      return this.violation(c, `dialog.extra.model must be one of ${MODELS.join(', ')}`, BAD_START_SESSION);
    const audio = isRecord(tts) && isRecord(tts.audio_config) ? tts.audio_config : undefined;
    if (audio) {
      if (
        audio.channel !== 1 ||
        audio.sample_rate !== 24000 ||
        !['pcm', 'pcm_s16le'].includes(String(audio.format))
      )
        return this.violation(
          c,
          `tts.audio_config must be 1 channel, 24000 Hz, pcm or pcm_s16le`,
          BAD_START_SESSION,
        );
      c.format = String(audio.format);
    }
    if (this.options.sessionFailed !== undefined) {
      this.sendJson(c, ServerEvent.SessionFailed, { error: this.options.sessionFailed });
      return;
    }
    c.sessionId = sessionId;
    c.pushToTalk = extra.input_mod === 'push_to_talk';
    c.truncation = extra.enable_conversation_truncate === true;
    this.sendJson(c, ServerEvent.SessionStarted, { dialog_id: `dialog-${String(this.connections)}` });
  }

  private onAudio(c: Conn, pcm: Buffer): void {
    if (pcm.length % 2 !== 0) return this.violation(c, 'TaskRequest audio is not whole 16-bit samples');
    this.packets.push(pcm.length);
    if (c.question === undefined) {
      c.question = `q-${String(++c.seq)}`;
      // New speech: the reply still streaming is interrupted (after what is already in flight).
      if (c.streaming && !c.streaming.stop) c.streaming.staleLeft = this.options.staleFrames ?? 2;
      this.sendJson(c, ServerEvent.ASRInfo, { question_id: c.question });
      const first = (this.options.userTranscript ?? 'Tell me a joke.').split(' ')[0];
      this.sendJson(c, ServerEvent.ASRResponse, { results: [{ text: first, is_interim: true }] });
    }
    c.questionBytes += pcm.length;
  }

  private onTruncate(c: Conn, j: Record<string, unknown>): void {
    if (!c.truncation)
      return this.violation(c, 'ConversationTruncate needs dialog.extra.enable_conversation_truncate');
    const id = j.item_id;
    const ms = j.audio_end_ms;
    if (typeof id !== 'string' || !c.replies.has(id))
      return this.violation(c, `ConversationTruncate: unknown item_id ${String(id)}`);
    const sent = c.replies.get(id) as number;
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > sent)
      return this.violation(
        c,
        `ConversationTruncate: audio_end_ms ${String(ms)} is beyond the reply's audio (${String(sent)} ms)`,
      );
    c.replies.set(id, ms);
    this.sendJson(c, ServerEvent.ConversationTruncated, {});
  }

  private async answer(c: Conn, question: string): Promise<void> {
    const o = this.options;
    this.sendJson(c, ServerEvent.ASRResponse, {
      results: [{ text: o.userTranscript ?? 'Tell me a joke.', is_interim: false }],
    });
    this.sendJson(c, ServerEvent.ASREnded, {});
    const fault = this.faults.shift();
    if (fault?.kind === 'silence') return;
    if (fault?.kind === 'error-frame') return this.sendError(c, fault.code, fault.message);
    if (fault?.kind === 'dialog-error') {
      this.sendJson(c, ServerEvent.DialogCommonError, {
        status_code: fault.statusCode,
        message: fault.message,
      });
      return;
    }
    if (fault?.kind === 'close') return c.ws.close(fault.code, fault.reason);
    if (fault?.kind === 'raw') return this.sendFrame(c, fault.data);
    const reply = `r-${question}`;
    const st: Streaming = { question, reply, stop: false };
    c.streaming = st;
    c.replies.set(reply, 0);
    this.replies.push(reply);
    const text = o.replyText ?? 'Why did the earbud cross the road? To get better reception.';
    const chunks = o.chunks ?? 5;
    const chunkMs = o.chunkMs ?? 100;
    const per = Math.ceil(text.length / chunks);
    const ids = { question_id: question, reply_id: reply };
    // One sentence per chunk: its text, TTSSentenceStart, the audio, TTSSentenceEnd.
    for (let k = 0; k < chunks; k++) {
      if (st.staleLeft !== undefined && st.staleLeft-- <= 0) {
        st.stop = true;
        break;
      }
      const piece = text.slice(k * per, (k + 1) * per);
      this.sendJson(c, ServerEvent.ChatResponse, { content: piece, ...ids });
      this.sendJson(c, ServerEvent.TTSSentenceStart, { tts_type: 'default', text: piece, ...ids });
      this.sendFrame(c, this.audioFrame(c, k, chunkMs, fault?.kind === 'ogg'));
      c.replies.set(reply, (c.replies.get(reply) as number) + chunkMs);
      this.sendJson(c, ServerEvent.TTSSentenceEnd, ids);
      await this.loopback.delay(o.chunkDelayMs ?? 5);
    }
    if (c.streaming === st) c.streaming = undefined;
    if (!st.stop) this.sendJson(c, ServerEvent.ChatEnded, ids);
    // Also for an interrupted reply: a client must not take it for the next question's end.
    this.sendJson(c, ServerEvent.TTSEnded, ids);
  }

  /**
   * A TTSResponse of a 24 kHz sine: s16le for pcm_s16le, float32 for pcm, behind an OGG page
   * signature without tts.audio_config (the service's default) or when scripted.
   */
  private audioFrame(c: Conn, k: number, ms: number, ogg: boolean): Buffer {
    const samples = (24000 * ms) / 1000;
    const float = c.format === 'pcm';
    let payload = Buffer.alloc(samples * (float ? 4 : 2));
    for (let i = 0; i < samples; i++) {
      const x = 0.2 * Math.sin((2 * Math.PI * 440 * (k * samples + i)) / 24000);
      if (float) payload.writeFloatLE(x, 4 * i);
      else payload.writeInt16LE(Math.round(x * 30000), 2 * i);
    }
    if (ogg || c.format === undefined) payload = Buffer.concat([Buffer.from('OggS'), payload]);
    return encodeFrame({
      type: MessageType.AudioOnlyServer,
      event: ServerEvent.TTSResponse,
      sessionId: c.sessionId ?? '',
      serialization: Serialization.Raw,
      payload,
    });
  }
}
