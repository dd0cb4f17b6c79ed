/**
 * OpenAI-compatible REST adapter: speech-to-text (POST /audio/transcriptions, multipart WAV),
 * chat (POST /chat/completions, stream: true, SSE parsed here) and text-to-speech
 * (POST /audio/speech, pcm or wav). Works with OpenAI, Ollama, LocalAI, speaches, llama.cpp
 * server, Kokoro-FastAPI and Doubao Ark (each for the endpoints it serves).
 *
 * Speak while thinking: each sentence is sent to /audio/speech as soon as the chat stream completes
 * it (up to 2 syntheses at once), and reply audio is emitted in sentence order while the chat is
 * still streaming. History (user + assistant text) is kept per device.
 *
 * Barge-in (truncate): the assistant's last message is cut to what was heard. Each spoken sentence's
 * audio duration is known, so whole sentences played before `heardMs` are kept, the sentence being
 * played is cut at the same proportion of its characters (back to a word boundary) and marked with
 * "…", later ones are dropped; nothing heard removes the message.
 */
import { Observable } from 'rxjs';
import { resample, s16FromLE, WavError, WavStreamDecoder } from '../audio/index';
import { keyGoesTo, type VoiceConfig } from './config';
import { readAll, readChunks, request, type FetchLike, type HttpContext } from './http';
import { redact, type Secret } from './secret';
import { SentenceSplitter } from './sentences';
import { SpeechQueue, type SpokenPart } from './speech-queue';
import { SseOverflow, SseParser } from './sse';
import { TranscriptionForm } from './transcription-form';
import { createHttpTransport, type HttpTransport } from './transport';
import { MAX_REPLY_CHARS, VoiceError, type VoiceEvent, type VoiceRequest, type VoiceService } from './types';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface RestVoiceDeps {
  /**
   * Defaults to a keep-alive node:http/node:https transport owned by the service (closed by
   * close()); pass the global `fetch` or a test double to use that instead.
   */
  fetch?: FetchLike;
  /** Called before each retry wait (logs, tests). */
  onRetry?: (info: { endpoint: string; attempt: number; delayMs: number; reason: string }) => void;
}

/** Typical TTS speaking rate, used only to estimate a sentence cut off mid-synthesis. */
const DEFAULT_MS_PER_CHAR = 65;

interface LastReply {
  message: ChatMessage;
  parts: SpokenPart[];
  /** The message as first recorded (a later truncate re-cuts from this). */
  original: string;
}

interface DeviceState {
  history: ChatMessage[];
  lastReply?: LastReply;
  /** The reply being produced: stop() ends it early (keeps what was spoken). */
  current?: { stop: () => Promise<void> };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new VoiceError(
      'malformed',
      `${what}: response is not valid JSON (${text.slice(0, 60).replace(/\s+/g, ' ')})`,
    );
  }
}

/** PCM sample rate stated by the server in Content-Type (audio/pcm;rate=22050, audio/L16; rate=16000). */
function rateFromContentType(ct: string | null): number | undefined {
  if (!ct) return undefined;
  const m = /(?:^|;)\s*(?:rate|samplerate|sample_rate|sample-rate)\s*=\s*"?(\d+)"?/i.exec(ct);
  if (!m) return undefined;
  const r = Number(m[1]);
  return r >= 1000 && r <= 384000 ? r : undefined;
}

/** Sentences back into text: a space after Latin ends, none after CJK punctuation. */
function joinSentences(parts: string[]): string {
  let out = '';
  for (const p of parts) out += out === '' || /[。！？]$/.test(out) ? p : ` ${p}`;
  return out;
}

export class RestVoiceService implements VoiceService {
  readonly name = 'openai-rest';
  private readonly fetch: FetchLike;
  /** The transport this service opened (none when deps.fetch was given). */
  private readonly transport: HttpTransport | undefined;
  private readonly form: TranscriptionForm;
  private readonly devices = new Map<string, DeviceState>();
  private readonly inflight = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly config: VoiceConfig,
    private readonly deps: RestVoiceDeps = {},
  ) {
    if (deps.fetch) {
      this.fetch = deps.fetch;
    } else {
      this.transport = createHttpTransport();
      this.fetch = this.transport.fetch;
    }
    const fields: Array<[string, string]> = [
      ['model', config.models.stt],
      ['response_format', 'json'],
    ];
    if (config.language) fields.push(['language', config.language]);
    this.form = new TranscriptionForm(fields);
  }

  /** The conversation kept for a device (copy; system prompt not included). */
  history(deviceId: string): ChatMessage[] {
    return (this.devices.get(deviceId)?.history ?? []).map((m) => ({ ...m }));
  }

  respond(req: VoiceRequest): Observable<VoiceEvent> {
    return new Observable<VoiceEvent>((sub) => {
      if (this.closed) {
        sub.error(new VoiceError('closed', `${this.name}: service is closed`));
        return undefined;
      }
      const ctrl = new AbortController();
      this.inflight.add(ctrl);
      let unsubscribed = false;
      this.run(req, ctrl, (ev) => {
        if (!unsubscribed) sub.next(ev);
      })
        .then(
          () => sub.complete(),
          (e: unknown) => {
            if (unsubscribed) return;
            sub.error(
              this.closed ? new VoiceError('closed', `${this.name}: service closed`) : this.toVoiceError(e),
            );
          },
        )
        .finally(() => this.inflight.delete(ctrl));
      return () => {
        unsubscribed = true;
        ctrl.abort();
      };
    });
  }

  async truncate(deviceId: string, heardMs: number): Promise<void> {
    const st = this.devices.get(deviceId);
    if (!st) return;
    if (st.current) await st.current.stop();
    const last = st.lastReply;
    if (!last) return;
    const ms = Math.max(0, Number.isFinite(heardMs) ? heardMs : 0);
    // Sentences cut off mid-synthesis: estimate their full length from the finished ones.
    const done = last.parts.filter((p) => p.complete && p.ms > 0);
    const chars = done.reduce((n, p) => n + p.text.length, 0);
    const msPerChar = chars > 0 ? done.reduce((n, p) => n + p.ms, 0) / chars : DEFAULT_MS_PER_CHAR;
    const parts = last.parts.map((p) =>
      p.complete ? p : { ...p, ms: Math.max(p.ms, p.text.length * msPerChar) },
    );
    const total = parts.reduce((n, p) => n + p.ms, 0);
    if (ms >= total) {
      last.message.content = last.original;
      return;
    }
    const kept: string[] = [];
    let left = ms;
    for (const p of parts) {
      if (left >= p.ms && p.ms > 0) {
        kept.push(p.text);
        left -= p.ms;
        continue;
      }
      if (p.ms > 0 && left > 0) {
        let cut = Math.floor((p.text.length * left) / p.ms);
        // Back to a word boundary; text without spaces (CJK) is cut at the character.
        const space = p.text.lastIndexOf(' ', cut);
        if (p.text.includes(' ')) cut = space > 0 ? space : 0;
        const piece = p.text.slice(0, cut).trim();
        if (piece) kept.push(piece + '…');
      }
      break;
    }
    const i = st.history.indexOf(last.message);
    if (kept.length === 0) {
      if (i >= 0) st.history.splice(i, 1);
      st.lastReply = undefined;
      return;
    }
    last.message.content = joinSentences(kept);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.inflight) c.abort(new VoiceError('closed', `${this.name}: service closed`));
    this.inflight.clear();
    this.devices.clear();
    this.transport?.close();
  }

  /** Every error leaving the service is rebuilt with a redacted message (and so a redacted stack). */
  private toVoiceError(e: unknown): VoiceError {
    const key = this.config.apiKey;
    if (e instanceof VoiceError)
      return new VoiceError(e.kind, redact(e.message, key), e.status, e.retryAfterMs);
    if (e instanceof WavError || e instanceof SseOverflow)
      return new VoiceError('malformed', redact(e.message, key));
    const msg = e instanceof Error ? e.message : String(e);
    return new VoiceError('server', `${this.name}: unexpected failure: ${redact(msg, key)}`);
  }

  private ctx(signal: AbortSignal, endpoint: string, kind: 'stt' | 'chat' | 'tts'): HttpContext {
    const c: HttpContext = {
      fetch: this.fetch,
      apiKey: this.keyFor(kind),
      retry: this.config.retry,
      requestTimeoutMs: this.config.timeouts.requestMs,
      idleTimeoutMs: this.config.timeouts.idleMs,
      signal,
    };
    const onRetry = this.deps.onRetry;
    if (onRetry) c.onRetry = (info) => onRetry({ endpoint, ...info });
    return c;
  }

  private base(kind: 'stt' | 'chat' | 'tts'): string {
    return this.config.endpoints?.[kind] ?? this.config.baseUrl;
  }

  private url(kind: 'stt' | 'chat' | 'tts', path: string): string {
    return `${this.base(kind)}${path}`;
  }

  /** The key goes only to baseUrl's origin: a separately configured local server never sees it. */
  private keyFor(kind: 'stt' | 'chat' | 'tts'): Secret | undefined {
    const key = this.config.apiKey;
    if (!key) return undefined;
    return keyGoesTo(this.config, this.base(kind)) ? key : undefined;
  }

  private state(deviceId: string): DeviceState {
    let st = this.devices.get(deviceId);
    if (!st) {
      st = { history: [] };
      this.devices.set(deviceId, st);
    }
    return st;
  }

  private async run(req: VoiceRequest, ctrl: AbortController, emit: (ev: VoiceEvent) => void): Promise<void> {
    if (!Number.isInteger(req.sampleRate) || req.sampleRate < 1000 || req.sampleRate > 384000) {
      throw new VoiceError(
        'bad-request',
        `utterance sample rate must be an integer in Hz, got ${String(req.sampleRate)}`,
      );
    }
    if (req.audio.length === 0) throw new VoiceError('bad-request', 'utterance has no audio');
    const signal = ctrl.signal;
    const st = this.state(req.deviceId);
    // A new utterance supersedes a reply still being produced for this device.
    if (st.current) await st.current.stop();

    const userText = await this.transcribe(req, signal);
    emit({ kind: 'transcript', role: 'user', text: userText, final: true });
    if (userText === '') {
      emit({ kind: 'done' });
      return;
    }

    // Replies can be stopped early by truncate() (barge-in) without an error: what was spoken stays.
    const stopCtrl = new AbortController();
    const onOuterAbort = (): void => stopCtrl.abort();
    signal.addEventListener('abort', onOuterAbort, { once: true });
    let finished!: () => void;
    const finishedP = new Promise<void>((r) => (finished = r));
    let stopped = false;
    const current = {
      stop: async (): Promise<void> => {
        stopped = true;
        stopCtrl.abort();
        await finishedP;
      },
    };
    st.current = current;

    const messages: ChatMessage[] = [
      { role: 'system', content: this.config.systemPrompt },
      ...st.history,
      { role: 'user', content: userText },
    ];
    const queue = new SpeechQueue(
      (text, onPcm) => this.synthesize(text, stopCtrl.signal, onPcm),
      emit,
      stopCtrl.signal,
    );
    const pump = queue.pump();
    pump.catch(() => undefined); // observed below
    let full = '';
    let chatError: unknown;
    try {
      const splitter = new SentenceSplitter();
      const chatDone = this.chat(messages, stopCtrl.signal, (delta) => {
        full += delta;
        emit({ kind: 'transcript', role: 'assistant', text: full, final: false });
        for (const s of splitter.push(delta)) queue.add(s);
      }).then(() => {
        for (const s of splitter.end()) queue.add(s);
        queue.close();
      });
      // Whichever fails first (chat or a synthesis) ends the reply; the finally aborts the other.
      await Promise.all([chatDone, pump]);
    } catch (e) {
      chatError = e;
    } finally {
      signal.removeEventListener('abort', onOuterAbort);
      if (!stopCtrl.signal.aborted) stopCtrl.abort(); // stop any synthesis still running
    }
    const interrupted = chatError !== undefined;
    // Record the turn: all of it when complete, else what was actually spoken.
    const spoken = queue.spoken.filter((p) => p.ms > 0);
    const replyText = interrupted ? joinSentences(spoken.map((p) => p.text)) : full.trim();
    const userMsg: ChatMessage = { role: 'user', content: userText };
    st.history.push(userMsg);
    if (replyText) {
      const message: ChatMessage = { role: 'assistant', content: replyText };
      st.history.push(message);
      st.lastReply = { message, parts: interrupted ? spoken : queue.spoken, original: replyText };
    } else {
      st.lastReply = undefined;
    }
    this.trimHistory(st);
    if (st.current === current) st.current = undefined;
    finished();
    if (interrupted && !(stopped && !signal.aborted)) throw chatError;
    emit({ kind: 'transcript', role: 'assistant', text: replyText, final: true });
    emit({ kind: 'done' });
  }

  private trimHistory(st: DeviceState): void {
    const max = this.config.maxHistoryMessages;
    while (st.history.length > max) st.history.shift();
    // Never start the kept history with an assistant message.
    while (st.history.length > 0 && st.history[0]!.role === 'assistant') st.history.shift();
  }

  private async transcribe(req: VoiceRequest, signal: AbortSignal): Promise<string> {
    const what = 'transcription';
    const rate = this.config.sttSampleRate ?? req.sampleRate;
    const pcm = req.sampleRate === rate ? req.audio : resample(req.audio, req.sampleRate, rate);
    // Built once: a retry resends the same bytes.
    const body = this.form.build(pcm, rate);
    const headers = { 'content-type': this.form.contentType };
    const ctx = this.ctx(signal, '/audio/transcriptions', 'stt');
    const res = await request(ctx, this.url('stt', '/audio/transcriptions'), what, () => ({
      method: 'POST',
      headers,
      body,
    }));
    const text = new TextDecoder().decode(await readAll(ctx, res, what));
    const j = parseJson(text, what);
    if (!isRecord(j) || typeof j.text !== 'string') {
      throw new VoiceError('malformed', `${what}: response has no "text" string`);
    }
    return j.text.trim();
  }

  private async chat(
    messages: ChatMessage[],
    signal: AbortSignal,
    onDelta: (text: string) => void,
  ): Promise<void> {
    const what = 'chat completion';
    let chars = 0;
    const deliver = (text: string): void => {
      chars += text.length;
      if (chars > MAX_REPLY_CHARS)
        throw new VoiceError(
          'malformed',
          `${what}: reply longer than ${MAX_REPLY_CHARS} characters, refused`,
        );
      onDelta(text);
    };
    const ctx = this.ctx(signal, '/chat/completions', 'chat');
    const res = await request(ctx, this.url('chat', '/chat/completions'), what, () => ({
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ model: this.config.models.chat, messages, stream: true }),
    }));
    const ct = res.headers.get('content-type') ?? '';
    if (/application\/json/i.test(ct)) {
      // A server that ignores stream: true answers with one JSON completion.
      const j = parseJson(new TextDecoder().decode(await readAll(ctx, res, what)), what);
      const content =
        isRecord(j) && Array.isArray(j.choices) && isRecord(j.choices[0]) && isRecord(j.choices[0].message)
          ? j.choices[0].message.content
          : undefined;
      if (typeof content !== 'string')
        throw new VoiceError('malformed', `${what}: response has no choices[0].message.content`);
      if (content) deliver(content);
      return;
    }
    const parser = new SseParser();
    let ended = false;
    let finishReason: string | undefined;
    const handle = (data: string): void => {
      if (ended) return;
      if (data.trim() === '[DONE]') {
        ended = true;
        return;
      }
      const j = parseJson(data, `${what} stream`);
      if (!isRecord(j)) throw new VoiceError('malformed', `${what} stream: event is not a JSON object`);
      if (j.error !== undefined) {
        const e = j.error;
        const m =
          isRecord(e) && typeof e.message === 'string'
            ? e.message
            : typeof e === 'string'
              ? e
              : 'error event';
        throw new VoiceError('server', `${what} stream: ${redact(m, this.config.apiKey)}`);
      }
      if (!Array.isArray(j.choices))
        throw new VoiceError('malformed', `${what} stream: chunk has no choices array`);
      const c = j.choices[0];
      if (c === undefined) return; // usage-only chunk
      if (!isRecord(c)) throw new VoiceError('malformed', `${what} stream: choice is not an object`);
      const delta = c.delta;
      if (isRecord(delta) && typeof delta.content === 'string' && delta.content !== '')
        deliver(delta.content);
      else if (delta !== undefined && !isRecord(delta))
        throw new VoiceError('malformed', `${what} stream: delta is not an object`);
      if (typeof c.finish_reason === 'string') finishReason = c.finish_reason;
    };
    for await (const chunk of readChunks(ctx, res, what)) {
      for (const ev of parser.push(chunk)) handle(ev.data);
      if (ended) break;
    }
    if (!ended) for (const ev of parser.end()) handle(ev.data);
    if (!ended && finishReason === undefined) {
      throw new VoiceError('network', `${what}: stream ended before [DONE]`);
    }
  }

  private async synthesize(
    text: string,
    signal: AbortSignal,
    onPcm: (pcm: Int16Array, rate: number) => void,
  ): Promise<void> {
    const what = 'speech synthesis';
    const ctx = this.ctx(signal, '/audio/speech', 'tts');
    const format = this.config.speechFormat;
    const res = await request(ctx, this.url('tts', '/audio/speech'), what, () => ({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: this.config.models.tts,
        input: text,
        voice: this.config.voice,
        response_format: format,
      }),
    }));
    const ct = res.headers.get('content-type');
    if (ct && /^\s*(text\/|application\/(json|problem\+json|xml|xhtml))/i.test(ct)) {
      throw new VoiceError('malformed', `${what} (/audio/speech): server answered ${ct}, not audio`);
    }
    if (ct && /audio\/(mpeg|mp3|ogg|opus|aac|flac|webm)/i.test(ct)) {
      throw new VoiceError(
        'malformed',
        `${what}: server sent ${ct}, not ${format}; it ignored response_format`,
      );
    }
    let wav: WavStreamDecoder | undefined;
    let pcmRate: number | undefined;
    let carry: number | undefined; // odd byte left from the previous chunk
    let head: Uint8Array | undefined = new Uint8Array(0);
    for await (let chunk of readChunks(ctx, res, what)) {
      if (head) {
        // Decide the format on the first 4 bytes.
        const joined: Uint8Array = new Uint8Array(head.length + chunk.length);
        joined.set(head);
        joined.set(chunk, head.length);
        if (joined.length < 4) {
          head = joined;
          continue;
        }
        chunk = joined;
        head = undefined;
        // Trust the bytes over the request: some servers answer WAV whatever was asked.
        const riff =
          chunk.length >= 4 &&
          chunk[0] === 0x52 &&
          chunk[1] === 0x49 &&
          chunk[2] === 0x46 &&
          chunk[3] === 0x46;
        if (riff || /audio\/(x-)?wav|audio\/wave/i.test(ct ?? '')) wav = new WavStreamDecoder();
        else if (format === 'wav')
          throw new VoiceError('malformed', `${what}: asked for wav, response is not RIFF/WAVE`);
        else pcmRate = rateFromContentType(ct) ?? this.config.pcmSampleRate;
      }
      if (wav) {
        const s = wavPush(wav, chunk, what);
        const rate = wav.format?.sampleRate;
        // the rates the bridge resamples from (as for a Content-Type's rate)
        if (rate !== undefined && (rate < 1000 || rate > 384000))
          throw new VoiceError('malformed', `${what} (/audio/speech): WAV at ${String(rate)} Hz`);
        if (s.length > 0) onPcm(s, rate!);
        continue;
      }
      if (carry !== undefined) {
        const joined = new Uint8Array(chunk.length + 1);
        joined[0] = carry;
        joined.set(chunk, 1);
        chunk = joined;
        carry = undefined;
      }
      const n = chunk.length >> 1;
      if (chunk.length & 1) carry = chunk[chunk.length - 1];
      if (n === 0) continue;
      onPcm(s16FromLE(chunk, n), pcmRate!);
    }
    if (head && head.length > 0)
      throw new VoiceError('malformed', `${what}: response of ${String(head.length)} bytes is not audio`);
    if (wav) wavEnd(wav, what);
    else if (carry !== undefined) throw new VoiceError('malformed', `${what}: PCM ended on half a sample`);
  }
}

/** A WAV reply that does not decode is the speech endpoint's fault: say which endpoint. */
function wavPush(wav: WavStreamDecoder, chunk: Uint8Array, what: string): Int16Array {
  try {
    return wav.push(chunk);
  } catch (e) {
    throw new VoiceError('malformed', `${what} (/audio/speech): ${errorMessage(e)}`);
  }
}

function wavEnd(wav: WavStreamDecoder, what: string): void {
  try {
    wav.end();
  } catch (e) {
    throw new VoiceError('malformed', `${what} (/audio/speech): ${errorMessage(e)}`);
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
