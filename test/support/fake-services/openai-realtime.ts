/**
 * A local OpenAI Realtime WebSocket server for tests (127.0.0.1, ephemeral port). It speaks either
 * API generation ('ga': session.audio.*, response.output_audio.delta, conversation.item.added;
 * 'beta': input_audio_format, response.audio.delta, conversation.item.created), VALIDATES the
 * client's events (auth header, session.update shape for its generation, base64 pcm16 appends,
 * commit of a non-empty buffer, truncate item ids and audio_end_ms bounds) and answers violations
 * with `error` events (also recorded in `violations`). Faults can be scripted per response.
 */
import type { Server } from 'node:http';
import type { WebSocket, WebSocketServer } from 'ws';
import { Loopback, refuseUpgrade, stopWebSocketFake, webSocketServers } from './loopback';

export type Generation = 'ga' | 'beta';

export type RealtimeFault =
  /** Send an `error` event instead of a response. */
  | { kind: 'error-event'; error: Record<string, unknown> }
  /** Close the socket with this code. */
  | { kind: 'close'; code: number; reason?: string }
  /** Say nothing (client idle timeout). */
  | { kind: 'silence' }
  /** response.done with status failed. */
  | { kind: 'failed'; message: string; code?: string }
  /** Send a non-JSON text frame. */
  | { kind: 'garbage' }
  /** Send these text frames as they are, and nothing else (the fuzz tests' server events). */
  | { kind: 'raw'; messages: string[] };

export interface FakeRealtimeOptions {
  generation: Generation;
  apiKey?: string;
  /** Accept the TCP connection but never answer the upgrade (client connect timeout). */
  hangUpgrade?: boolean;
  /** Reject the WebSocket upgrade with this HTTP status. */
  rejectUpgrade?: { status: number; body?: string; headers?: Record<string, string> };
  replyText?: string;
  /** Audio per delta (ms) and number of deltas. */
  chunkMs?: number;
  chunks?: number;
  /** Pause between deltas. */
  chunkDelayMs?: number;
  userTranscript?: string;
}

const CLIENT_EVENTS = new Set([
  'session.update',
  'input_audio_buffer.append',
  'input_audio_buffer.commit',
  'input_audio_buffer.clear',
  'conversation.item.create',
  'conversation.item.truncate',
  'conversation.item.delete',
  'response.create',
  'response.cancel',
]);

interface Conn {
  ws: WebSocket;
  buffer: number;
  items: Map<string, number>; // assistant item id -> audio ms sent
  streaming: { responseId: string; itemId: string; stop: boolean } | undefined;
  seq: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class FakeRealtimeServer {
  readonly received: Array<Record<string, unknown>> = [];
  readonly violations: string[] = [];
  readonly upgrades: Array<{ url: string; authorization?: string; beta?: string }> = [];
  readonly faults: RealtimeFault[] = [];
  /** Assistant item ids, in the order responses created them. */
  readonly assistantItems: string[] = [];
  /** Per-connection count of samples appended (latest connection last). */
  appendedSamples = 0;
  connections = 0;
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly loopback = new Loopback();

  constructor(public options: FakeRealtimeOptions) {}

  get url(): string {
    return `${this.baseUrl.replace(/^http/, 'ws')}/realtime`;
  }

  /** http base URL (the adapter derives ws://.../v1/realtime from it). */
  get baseUrl(): string {
    return Loopback.baseUrl(this.http);
  }

  async start(): Promise<this> {
    ({ http: this.http, wss: this.wss } = webSocketServers((wss, req, socket, head) => {
      const url = req.url ?? '';
      const authorization = req.headers.authorization;
      const beta = req.headers['openai-beta'] as string | undefined;
      this.upgrades.push({ url, ...(authorization ? { authorization } : {}), ...(beta ? { beta } : {}) });
      const reject = (status: number, body: string, headers: Record<string, string> = {}): void =>
        refuseUpgrade(socket, status, body, headers);
      const u = new URL(url, 'http://x');
      if (u.pathname !== '/v1/realtime') return reject(404, '{"error":{"message":"not found"}}');
      if (!u.searchParams.get('model')) {
        this.violations.push('upgrade without ?model=');
        return reject(400, '{"error":{"message":"missing model"}}');
      }
      if (this.options.apiKey !== undefined && authorization !== `Bearer ${this.options.apiKey}`) {
        return reject(
          401,
          JSON.stringify({ error: { message: `Incorrect API key provided: ${String(authorization)}` } }),
        );
      }
      if (this.options.generation === 'ga' && beta) {
        this.violations.push('GA server got an OpenAI-Beta header');
        return reject(400, '{"error":{"message":"beta header not allowed"}}');
      }
      if (this.options.generation === 'beta' && beta !== 'realtime=v1') {
        this.violations.push('beta server without OpenAI-Beta: realtime=v1');
        return reject(400, '{"error":{"message":"missing beta header"}}');
      }
      if (this.options.hangUpgrade) return;
      const rej = this.options.rejectUpgrade;
      if (rej)
        return reject(
          rej.status,
          rej.body ?? `{"error":{"message":"scripted ${String(rej.status)}"}}`,
          rej.headers,
        );
      wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
    }));
    await this.loopback.listen(this.http);
    return this;
  }

  async stop(): Promise<void> {
    await stopWebSocketFake(this.wss, this.http, this.loopback);
  }

  types(): string[] {
    return this.received.map((e) => String(e.type));
  }

  private send(c: Conn, ev: Record<string, unknown>): void {
    if (c.ws.readyState === c.ws.OPEN)
      c.ws.send(JSON.stringify({ event_id: `event_${String(++c.seq)}`, ...ev }));
  }

  private violation(c: Conn, message: string, eventId?: unknown): void {
    this.violations.push(message);
    this.send(c, {
      type: 'error',
      error: {
        type: 'invalid_request_error',
        code: 'invalid_value',
        message,
        param: null,
        event_id: eventId ?? null,
      },
    });
  }

  private onConnection(ws: WebSocket): void {
    this.connections++;
    this.appendedSamples = 0;
    const c: Conn = { ws, buffer: 0, items: new Map(), streaming: undefined, seq: 0 };
    const ga = this.options.generation === 'ga';
    this.send(c, { type: 'session.created', session: { id: 'sess_fake', object: 'realtime.session' } });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return this.violation(c, 'binary frame');
      let ev: unknown;
      try {
        ev = JSON.parse(String(data));
      } catch {
        return this.violation(c, 'client event is not JSON');
      }
      if (!isRecord(ev) || typeof ev.type !== 'string' || !CLIENT_EVENTS.has(ev.type)) {
        return this.violation(c, `unknown client event ${JSON.stringify(isRecord(ev) ? ev.type : ev)}`);
      }
      if (ev.event_id !== undefined && typeof ev.event_id !== 'string')
        return this.violation(c, 'event_id must be a string');
      this.received.push(ev);
      this.onEvent(c, ev, ga);
    });
  }

  private onEvent(c: Conn, ev: Record<string, unknown>, ga: boolean): void {
    switch (ev.type) {
      case 'session.update': {
        const s = ev.session;
        if (!isRecord(s)) return this.violation(c, 'session.update without session', ev.event_id);
        if (ga) {
          const a = s.audio;
          const inFmt = isRecord(a) && isRecord(a.input) ? a.input.format : undefined;
          const outFmt = isRecord(a) && isRecord(a.output) ? a.output.format : undefined;
          if (s.type !== 'realtime')
            return this.violation(c, "GA session.update needs session.type 'realtime'", ev.event_id);
          if ('input_audio_format' in s || 'modalities' in s)
            return this.violation(c, "Unknown parameter: 'session.input_audio_format'", ev.event_id);
          for (const f of [inFmt, outFmt]) {
            if (!isRecord(f) || f.type !== 'audio/pcm' || f.rate !== 24000) {
              return this.violation(
                c,
                `GA audio format must be {type:'audio/pcm', rate:24000}, got ${JSON.stringify(f)}`,
                ev.event_id,
              );
            }
          }
        } else {
          if ('audio' in s || 'type' in s)
            return this.violation(c, "beta session.update: unknown parameter 'session.audio'", ev.event_id);
          if (s.input_audio_format !== 'pcm16' || s.output_audio_format !== 'pcm16') {
            return this.violation(c, 'beta session.update needs pcm16 input/output formats', ev.event_id);
          }
        }
        this.send(c, { type: 'session.updated', session: s });
        return;
      }
      case 'input_audio_buffer.append': {
        const a = ev.audio;
        if (typeof a !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(a))
          return this.violation(c, 'append audio is not base64', ev.event_id);
        const n = Buffer.from(a, 'base64').length;
        if (n % 2 !== 0) return this.violation(c, 'append audio is not pcm16', ev.event_id);
        c.buffer += n / 2;
        this.appendedSamples += n / 2;
        return;
      }
      case 'input_audio_buffer.commit': {
        if (c.buffer < 2400) {
          return this.violation(
            c,
            `buffer too small. Expected at least 100ms of audio, but buffer only has ${String(c.buffer / 24)}ms of audio.`,
            ev.event_id,
          );
        }
        const itemId = `item_user_${String(c.seq)}`;
        c.buffer = 0;
        this.send(c, { type: 'input_audio_buffer.committed', item_id: itemId, previous_item_id: null });
        this.send(c, {
          type: ga ? 'conversation.item.added' : 'conversation.item.created',
          item: { id: itemId, type: 'message', role: 'user', content: [{ type: 'input_audio' }] },
        });
        this.send(c, {
          type: 'conversation.item.input_audio_transcription.completed',
          item_id: itemId,
          content_index: 0,
          transcript: this.options.userTranscript ?? 'Tell me a joke.',
        });
        return;
      }
      case 'response.create':
        void this.respond(c, ga);
        return;
      case 'response.cancel':
        if (!c.streaming) {
          this.send(c, {
            type: 'error',
            error: {
              type: 'invalid_request_error',
              code: 'response_cancel_not_active',
              message: 'Cancellation failed: no active response found',
              event_id: ev.event_id,
            },
          });
          return;
        }
        c.streaming.stop = true;
        return;
      case 'conversation.item.truncate': {
        const id = ev.item_id;
        const ms = ev.audio_end_ms;
        if (typeof id !== 'string' || !c.items.has(id))
          return this.violation(c, `truncate: unknown item ${String(id)}`, ev.event_id);
        if (ev.content_index !== 0)
          return this.violation(c, 'truncate: content_index must be 0', ev.event_id);
        if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > (c.items.get(id) as number)) {
          return this.violation(
            c,
            `truncate: audio_end_ms ${String(ms)} is beyond the item's audio (${String(c.items.get(id))} ms)`,
            ev.event_id,
          );
        }
        c.items.set(id, ms); // the unheard audio is gone
        this.send(c, {
          type: 'conversation.item.truncated',
          item_id: id,
          content_index: 0,
          audio_end_ms: ms,
        });
        return;
      }
      default:
        return;
    }
  }

  private async respond(c: Conn, ga: boolean): Promise<void> {
    const fault = this.faults.shift();
    if (fault?.kind === 'silence') return;
    if (fault?.kind === 'error-event') {
      this.send(c, { type: 'error', error: fault.error });
      return;
    }
    if (fault?.kind === 'close') {
      c.ws.close(fault.code, fault.reason);
      return;
    }
    if (fault?.kind === 'garbage') {
      c.ws.send('this is not json {');
      return;
    }
    if (fault?.kind === 'raw') {
      for (const m of fault.messages) if (c.ws.readyState === c.ws.OPEN) c.ws.send(m);
      return;
    }
    const n = ++c.seq;
    const responseId = `resp_${String(n)}`;
    const itemId = `item_asst_${String(n)}`;
    const st = { responseId, itemId, stop: false };
    c.streaming = st;
    c.items.set(itemId, 0);
    this.assistantItems.push(itemId);
    this.send(c, {
      type: 'response.created',
      response: { id: responseId, object: 'realtime.response', status: 'in_progress', output: [] },
    });
    if (fault?.kind === 'failed') {
      c.streaming = undefined;
      this.send(c, {
        type: 'response.done',
        response: {
          id: responseId,
          status: 'failed',
          status_details: {
            type: 'failed',
            error: { type: 'server_error', code: fault.code ?? 'server_error', message: fault.message },
          },
          output: [],
        },
      });
      return;
    }
    const item = {
      id: itemId,
      object: 'realtime.item',
      type: 'message',
      role: 'assistant',
      status: 'in_progress',
      content: [],
    };
    this.send(c, { type: 'response.output_item.added', response_id: responseId, output_index: 0, item });
    this.send(c, { type: ga ? 'conversation.item.added' : 'conversation.item.created', item });
    const text = this.options.replyText ?? 'Why did the earbud cross the road? To get better reception.';
    const chunks = this.options.chunks ?? 5;
    const chunkMs = this.options.chunkMs ?? 100;
    const audioDelta = ga ? 'response.output_audio.delta' : 'response.audio.delta';
    const textDelta = ga ? 'response.output_audio_transcript.delta' : 'response.audio_transcript.delta';
    const per = Math.ceil(text.length / chunks);
    for (let k = 0; k < chunks && !st.stop; k++) {
      const samples = (24000 * chunkMs) / 1000;
      const b = Buffer.alloc(samples * 2);
      for (let i = 0; i < samples; i++)
        b.writeInt16LE(Math.round(6000 * Math.sin((2 * Math.PI * 440 * (k * samples + i)) / 24000)), 2 * i);
      this.send(c, {
        type: audioDelta,
        response_id: responseId,
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        delta: b.toString('base64'),
      });
      c.items.set(itemId, (c.items.get(itemId) as number) + chunkMs);
      this.send(c, {
        type: textDelta,
        response_id: responseId,
        item_id: itemId,
        output_index: 0,
        content_index: 0,
        delta: text.slice(k * per, (k + 1) * per),
      });
      await this.loopback.delay(this.options.chunkDelayMs ?? 5);
    }
    c.streaming = undefined;
    if (!st.stop) {
      this.send(c, {
        type: ga ? 'response.output_audio.done' : 'response.audio.done',
        response_id: responseId,
        item_id: itemId,
      });
      this.send(c, {
        type: ga ? 'response.output_audio_transcript.done' : 'response.audio_transcript.done',
        response_id: responseId,
        item_id: itemId,
        transcript: text,
      });
    }
    this.send(c, {
      type: 'response.done',
      response: {
        id: responseId,
        object: 'realtime.response',
        status: st.stop ? 'cancelled' : 'completed',
        output: [{ ...item, status: st.stop ? 'incomplete' : 'completed' }],
      },
    });
  }
}
