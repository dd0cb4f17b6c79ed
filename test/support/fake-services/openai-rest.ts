/**
 * A local OpenAI-compatible REST server for tests (127.0.0.1, ephemeral port). It follows the
 * documented request/response shapes of /v1/audio/transcriptions, /v1/chat/completions (SSE) and
 * /v1/audio/speech, VALIDATES what it receives (auth header, multipart fields, JSON bodies) and
 * answers violations with a 400 in OpenAI's error shape (also recorded in `violations`), and can be
 * scripted to fail: status codes with Retry-After, hangs, malformed bodies, dropped connections.
 * It also lists models (GET /v1/models, what `budlink doctor` asks) and accounts the time it spends
 * on each answer's critical path (`serverMs`, for benchmarks that subtract it). The one fake OpenAI
 * REST server of the unit, CLI, e2e and bench suites.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { decodeWav, encodeWav } from '../../../host/src/audio/index';
import { closeServer, Loopback } from './loopback';
import { parseMultipart } from './multipart';
import { settle } from '../wait';

export type Route = 'transcriptions' | 'chat' | 'speech';

export type Fault =
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Accept the request and never answer (client timeout). */
  | { kind: 'hang' }
  /** 200 with this raw body and content type. */
  | { kind: 'raw'; body: string | Uint8Array; contentType: string }
  /** Close the socket without a response. */
  | { kind: 'destroy' }
  /** Answer normally but stop mid-body (chat: after the first delta; speech: after some audio). */
  | { kind: 'cut' };

export interface ChatMessageIn {
  role: string;
  content: string;
}

export interface RecordedRequest {
  route: Route;
  authorization: string | undefined;
  /** JSON body (chat, speech) */
  json?: Record<string, unknown>;
  /** Multipart text fields (transcriptions). */
  fields?: Record<string, string>;
  /** Decoded uploaded WAV (transcriptions). */
  wav?: { sampleRate: number; samples: number };
}

export interface FakeRestOptions {
  /** Required bearer token; requests without it get OpenAI's 401 (which echoes part of a wrong key). */
  apiKey?: string;
  /** What the transcription returns. */
  transcript?: string;
  /** Chat reply for a conversation. */
  reply?: (messages: ChatMessageIn[]) => string;
  /** Characters per SSE delta. */
  deltaChars?: number;
  /** Line ending used in the SSE stream. */
  lineEnding?: '\n' | '\r\n';
  /** Each SSE write is split into pieces of this many bytes (tests parser robustness). */
  writeBytes?: number;
  /** Model ids GET /v1/models lists (default none: a server that does not say). */
  models?: string[];
  /** Add SSE comments and multi-line-free keepalives between events. */
  comments?: boolean;
  /** Speech: 'request' honours response_format; 'wav' always answers WAV. */
  speechFormat?: 'request' | 'wav';
  /** Rate of the speech audio produced. */
  speechRate?: number;
  /** Content-Type sent for pcm (e.g. 'audio/pcm;rate=16000'); default application/octet-stream. */
  pcmContentType?: string;
  /** Audio milliseconds per character of input. */
  msPerChar?: number;
  /** Delay before answering a speech request (per text), ms. */
  speechDelayMs?: (text: string) => number;
  /** Expected transcription language field (validated when set). */
  language?: string;
  /** The API root's path (OpenAI /v1; Volcengine Ark /api/v3, Baidu Qianfan /v2). */
  basePath?: string;
}

/** Sample value the fake uses for a sentence's audio, so tests can tell sentences apart. */
export function speechLevel(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) % 20011;
  return 1000 + h;
}

export class FakeOpenAiRest {
  readonly requests: RecordedRequest[] = [];
  readonly violations: string[] = [];
  /** Ordered log of notable moments: 'chat:start', 'chat:end', 'speech:<text>', ... */
  readonly log: string[] = [];
  /** Every request as 'METHOD /path', in order (models included). */
  readonly calls: string[] = [];
  /**
   * Time (ms) spent answering, from the request fully read to the byte that unblocks the client
   * (transcription: the answer; chat: the first sentence; speech: the first audio). Reset as needed.
   */
  serverMs = 0;
  private readonly faults: Record<Route, Fault[]> = { transcriptions: [], chat: [], speech: [] };
  private server: Server | undefined;
  private readonly loopback = new Loopback();
  private hold: { release: () => void; promise: Promise<void> } | undefined;
  chatActive = 0;
  options: FakeRestOptions;

  constructor(options: FakeRestOptions = {}) {
    this.options = options;
  }

  get baseUrl(): string {
    return Loopback.baseUrl(this.server).replace(/\/v1$/, this.options.basePath ?? '/v1');
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        this.violations.push(`handler crashed: ${String(e)}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    await this.loopback.listen(this.server);
    return this;
  }

  async stop(): Promise<void> {
    this.hold?.release();
    this.loopback.stop();
    await closeServer(this.server);
  }

  /** Queue faults for the next requests on a route (one fault per request). */
  fail(route: Route, ...faults: Fault[]): void {
    this.faults[route].push(...faults);
  }

  /**
   * Hold chat streams after their first sentence until release() (or a safety timeout), so a test
   * can observe what the client does while the chat is still open.
   */
  holdChat(safetyMs = 3000): () => void {
    let release!: () => void;
    const promise = new Promise<void>((r) => (release = r));
    const t = this.loopback.timer(() => release(), safetyMs);
    this.hold = {
      promise,
      release: () => {
        clearTimeout(t);
        release();
      },
    };
    return this.hold.release;
  }

  private async body(req: IncomingMessage): Promise<Uint8Array> {
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    return new Uint8Array(Buffer.concat(parts));
  }

  private error(
    res: ServerResponse,
    status: number,
    message: string,
    type = 'invalid_request_error',
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ error: { message, type, param: null, code: null } }));
  }

  private invalid(res: ServerResponse, message: string): void {
    this.violations.push(message);
    this.error(res, 400, message);
  }

  /** A JSON body naming a model, recorded on `rec`; otherwise a 400 (a violation) and undefined. */
  private jsonBody(
    res: ServerResponse,
    raw: Uint8Array,
    rec: RecordedRequest,
    route: Route,
  ): Record<string, unknown> | undefined {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(new TextDecoder().decode(raw)) as Record<string, unknown>;
    } catch {
      this.invalid(res, `${route}: body is not JSON`);
      return undefined;
    }
    rec.json = j;
    if (typeof j.model !== 'string' || j.model === '') {
      this.invalid(res, `${route}: missing 'model'`);
      return undefined;
    }
    return j;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const root = this.options.basePath ?? '/v1';
    const route: Route | undefined =
      path === `${root}/audio/transcriptions`
        ? 'transcriptions'
        : path === `${root}/chat/completions`
          ? 'chat'
          : path === `${root}/audio/speech`
            ? 'speech'
            : undefined;
    const raw = await this.body(req);
    const t0 = performance.now();
    this.calls.push(`${String(req.method)} ${String(path)}`);
    if (path === `${root}/models` && req.method === 'GET') {
      if (this.refused(req, res)) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      const data = (this.options.models ?? []).map((id) => ({ id, object: 'model', owned_by: 'fake' }));
      res.end(JSON.stringify({ object: 'list', data }));
      return;
    }
    if (!route || req.method !== 'POST') {
      this.error(res, 404, `Unknown request URL: ${String(req.method)} ${String(path)}`);
      return;
    }
    const rec: RecordedRequest = { route, authorization: req.headers.authorization };
    this.requests.push(rec);
    if (this.refused(req, res)) return;
    const fault = this.faults[route].shift();
    if (fault?.kind === 'status') {
      res.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.headers ?? {}) });
      res.end(
        fault.body ??
          JSON.stringify({ error: { message: `scripted ${String(fault.status)}`, type: 'server_error' } }),
      );
      return;
    }
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'destroy') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'raw') {
      res.writeHead(200, { 'content-type': fault.contentType });
      res.end(fault.body);
      return;
    }
    const cut = fault?.kind === 'cut';
    const answered = (): void => {
      this.serverMs += performance.now() - t0;
    };
    if (route === 'transcriptions') {
      this.transcriptions(req, res, raw, rec);
      answered();
    } else if (route === 'chat') await this.chat(req, res, raw, rec, cut, answered);
    else await this.speech(req, res, raw, rec, cut, answered);
  }

  /** Without the configured API key: OpenAI's 401 (true). */
  private refused(req: IncomingMessage, res: ServerResponse): boolean {
    const want = this.options.apiKey;
    if (want === undefined || req.headers.authorization === `Bearer ${want}`) return false;
    const got = (req.headers.authorization ?? '').replace(/^Bearer\s+/, '');
    // OpenAI echoes a masked prefix of a wrong key; echo the WHOLE key to prove the client redacts.
    this.error(
      res,
      401,
      `Incorrect API key provided: ${got}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    );
    return true;
  }

  private transcriptions(
    req: IncomingMessage,
    res: ServerResponse,
    raw: Uint8Array,
    rec: RecordedRequest,
  ): void {
    let parts;
    try {
      parts = parseMultipart(req.headers['content-type'], raw);
    } catch (e) {
      this.invalid(res, `transcriptions: ${(e as Error).message}`);
      return;
    }
    const fields: Record<string, string> = {};
    for (const p of parts) if (p.filename === undefined) fields[p.name] = new TextDecoder().decode(p.data);
    rec.fields = fields;
    const file = parts.find((p) => p.name === 'file');
    if (!file || !file.filename)
      return this.invalid(res, 'transcriptions: missing file part with a filename');
    if (!fields.model) return this.invalid(res, "transcriptions: missing required parameter 'model'");
    if (
      fields.response_format !== undefined &&
      !['json', 'text', 'verbose_json'].includes(fields.response_format)
    ) {
      return this.invalid(res, `transcriptions: bad response_format ${fields.response_format}`);
    }
    if (this.options.language !== undefined && fields.language !== this.options.language) {
      return this.invalid(
        res,
        `transcriptions: language ${String(fields.language)} != ${this.options.language}`,
      );
    }
    try {
      const w = decodeWav(file.data);
      rec.wav = { sampleRate: w.sampleRate, samples: w.samples.length };
      if (w.samples.length === 0) return this.invalid(res, 'transcriptions: audio file is empty');
    } catch (e) {
      return this.invalid(res, `transcriptions: file is not a valid WAV: ${(e as Error).message}`);
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ text: this.options.transcript ?? 'What is the weather like today?' }));
  }

  private async writeSse(res: ServerResponse, text: string): Promise<void> {
    const n = this.options.writeBytes;
    if (!n) {
      res.write(text);
      return;
    }
    const b = Buffer.from(text);
    for (let i = 0; i < b.length; i += n) {
      res.write(b.subarray(i, i + n));
      await settle();
    }
  }

  private async chat(
    _req: IncomingMessage,
    res: ServerResponse,
    raw: Uint8Array,
    rec: RecordedRequest,
    cut: boolean,
    answered: () => void,
  ): Promise<void> {
    const j = this.jsonBody(res, raw, rec, 'chat');
    if (!j) return;
    if (j.stream !== true) return this.invalid(res, 'chat: expected stream: true');
    const msgs = j.messages;
    if (!Array.isArray(msgs) || msgs.length === 0)
      return this.invalid(res, "chat: 'messages' must be a non-empty array");
    for (const m of msgs as unknown[]) {
      const mm = m as Record<string, unknown>;
      if (
        typeof m !== 'object' ||
        m === null ||
        !['system', 'user', 'assistant'].includes(String(mm.role)) ||
        typeof mm.content !== 'string'
      ) {
        return this.invalid(res, `chat: invalid message ${JSON.stringify(m)}`);
      }
    }
    const messages = msgs as ChatMessageIn[];
    if (messages[messages.length - 1]?.role !== 'user')
      return this.invalid(res, 'chat: last message must be the user turn');
    const reply = (
      this.options.reply ?? (() => 'It is sunny and warm. Expect a light breeze in the afternoon.')
    )(messages);
    const nl = this.options.lineEnding ?? '\n';
    const id = 'chatcmpl-fake';
    const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 1, model: j.model, choices: [{ index: 0, delta, finish_reason: finish }] })}${nl}${nl}`;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.on('close', () => {
      if (!res.writableEnded) this.log.push('chat:client-closed');
    });
    this.chatActive++;
    this.log.push('chat:start');
    await this.writeSse(res, chunk({ role: 'assistant', content: '' }, null));
    if (this.options.comments) await this.writeSse(res, `: keep-alive${nl}${nl}`);
    const step = this.options.deltaChars ?? 5;
    const firstEnd = reply.search(/[.!?]\s/);
    let held = false;
    let sentence = false;
    for (let i = 0; i < reply.length; i += step) {
      await this.writeSse(res, chunk({ content: reply.slice(i, i + step) }, null));
      if (!sentence && (firstEnd < 0 || i + step > firstEnd)) {
        sentence = true;
        answered();
      }
      if (cut) {
        // Let the client see the headers and a delta first, then drop the connection.
        await this.loopback.delay(30);
        res.socket?.destroy();
        this.chatActive--;
        this.log.push('chat:cut');
        return;
      }
      if (this.hold && !held && firstEnd >= 0 && i + step > firstEnd + 1) {
        held = true;
        this.log.push('chat:held');
        await this.hold.promise;
        this.log.push('chat:released');
      }
    }
    await this.writeSse(res, chunk({}, 'stop'));
    await this.writeSse(res, `data: [DONE]${nl}${nl}`);
    this.chatActive--;
    this.log.push('chat:end');
    res.end();
  }

  private async speech(
    _req: IncomingMessage,
    res: ServerResponse,
    raw: Uint8Array,
    rec: RecordedRequest,
    cut: boolean,
    answered: () => void,
  ): Promise<void> {
    const j = this.jsonBody(res, raw, rec, 'speech');
    if (!j) return;
    if (typeof j.input !== 'string' || !j.input.trim())
      return this.invalid(res, "speech: 'input' must be a non-empty string");
    if (j.input.length > 4096) return this.invalid(res, 'speech: input longer than 4096 characters');
    if (typeof j.voice !== 'string' || !j.voice) return this.invalid(res, "speech: missing 'voice'");
    const fmt = j.response_format ?? 'mp3';
    if (fmt !== 'pcm' && fmt !== 'wav')
      return this.invalid(res, `speech: test server only does pcm/wav, got ${String(fmt)}`);
    const text = j.input;
    this.log.push(`speech:${text}`);
    const delay = this.options.speechDelayMs?.(text) ?? 0;
    if (delay > 0) await this.loopback.delay(delay);
    const rate = this.options.speechRate ?? 24000;
    const n = Math.max(1, Math.round(((this.options.msPerChar ?? 10) * text.length * rate) / 1000));
    const pcm = new Int16Array(n).fill(speechLevel(text));
    const asWav = this.options.speechFormat === 'wav' || fmt === 'wav';
    let bytes: Uint8Array;
    if (asWav) {
      bytes = encodeWav(pcm, rate);
      res.writeHead(200, { 'content-type': 'audio/wav' });
    } else {
      bytes = new Uint8Array(pcm.buffer.slice(0));
      res.writeHead(200, { 'content-type': this.options.pcmContentType ?? 'application/octet-stream' });
    }
    // Stream in odd-sized pieces so samples and headers straddle chunk boundaries.
    const piece = 1001;
    for (let i = 0; i < bytes.length; i += piece) {
      res.write(bytes.subarray(i, i + piece));
      if (i === 0) answered();
      if (cut && i > 0) {
        await this.loopback.delay(30);
        res.socket?.destroy();
        return;
      }
      await settle();
    }
    this.log.push(`speech-end:${text}`);
    res.end();
  }
}
