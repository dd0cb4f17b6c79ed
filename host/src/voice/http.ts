/**
 * HTTP plumbing for the REST adapter: one request with a header timeout, bounded retries for
 * 429 (honouring Retry-After / retry-after-ms) and 5xx / network failures (exponential backoff),
 * status → VoiceError mapping, and body reading with an idle timeout. Every message that may carry
 * server text goes through redact() so the API key cannot leak through an echoing server.
 */
import type { IncomingMessage } from 'node:http';
import type { RetryPolicy } from './config';
import type { Secret } from './secret';
import { redact } from './secret';
import { plainHeaders, takeNodeBody } from './transport';
import { VoiceError, type VoiceErrorKind } from './types';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface HttpContext {
  fetch: FetchLike;
  apiKey: Secret | undefined;
  retry: RetryPolicy;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  /** Aborted when the subscriber unsubscribes or the service closes. */
  signal: AbortSignal;
  /** Called before each retry wait (for logs and tests). */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

/** Sleep that ends early (rejecting with 'cancelled') when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new VoiceError('cancelled', 'request cancelled'));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new VoiceError('cancelled', 'request cancelled'));
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Retry-After as milliseconds: `retry-after-ms`, or Retry-After seconds or HTTP date. */
export function retryAfterMs(headers: Pick<Headers, 'get'>, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms));
  const ra = headers.get('retry-after');
  if (ra === null) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Math.ceil(Number(ra) * 1000);
  const date = Date.parse(ra);
  if (!Number.isNaN(date)) return Math.max(0, date - now);
  return undefined;
}

/** HTTP status of a failed request (or a refused WebSocket upgrade) → error kind. */
export function kindForStatus(status: number): VoiceErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'rate-limited';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'server';
  return 'bad-request';
}

/** The server's own error text from an OpenAI-style `{ error: { message } }` body, or plain text. */
export function serverMessage(body: string): string {
  let msg = body.trim();
  try {
    const j = JSON.parse(body) as unknown;
    if (typeof j === 'object' && j !== null) {
      const e = (j as Record<string, unknown>).error;
      if (typeof e === 'string') msg = e;
      else if (
        typeof e === 'object' &&
        e !== null &&
        typeof (e as Record<string, unknown>).message === 'string'
      ) {
        msg = (e as Record<string, unknown>).message as string;
      } else if (typeof (j as Record<string, unknown>).detail === 'string') {
        msg = (j as Record<string, unknown>).detail as string;
      }
    }
  } catch {
    // not JSON: keep the text
  }
  return msg.length > 300 ? msg.slice(0, 300) + '…' : msg;
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || e.name === 'TimeoutError');
}

function describeNetworkError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as Error & { cause?: unknown }).cause;
  const code =
    cause instanceof Error && 'code' in cause ? String((cause as { code: unknown }).code) : undefined;
  return code ? `${e.message} (${code})` : e.message;
}

/** Per response: drops its request's link to the caller's signal (called once the body is read). */
const unlinks = new WeakMap<Response, () => void>();

/**
 * POST with retries. `makeInit` is called per attempt (bodies such as FormData are rebuilt).
 * Resolves with a 2xx Response whose body has not been read; rejects with a VoiceError.
 */
export async function request(
  ctx: HttpContext,
  url: string,
  what: string,
  makeInit: () => RequestInit,
): Promise<Response> {
  const { retry } = ctx;
  for (let attempt = 0; ; attempt++) {
    if (ctx.signal.aborted) throw new VoiceError('cancelled', `${what}: cancelled`);
    // Aborted by the caller (unsubscribe, close) or by the header timeout; the same signal keeps
    // governing the body after the headers arrived. Linked by hand (AbortSignal.any costs ~50 µs a
    // request and keeps weak references for the GC); the link is dropped when the body is read.
    const attempt$ = new AbortController();
    const signal = attempt$.signal;
    const onOuterAbort = (): void => attempt$.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onOuterAbort, { once: true });
    const unlink = (): void => ctx.signal.removeEventListener('abort', onOuterAbort);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      attempt$.abort(new DOMException('header timeout', 'TimeoutError'));
    }, ctx.requestTimeoutMs);
    let res: Response;
    try {
      const init = makeInit();
      const headers = plainHeaders(init.headers);
      if (ctx.apiKey && !ctx.apiKey.empty) headers.authorization = `Bearer ${ctx.apiKey.reveal()}`;
      res = await ctx.fetch(url, { ...init, headers, signal });
    } catch (e) {
      clearTimeout(timer);
      unlink();
      if (ctx.signal.aborted) throw new VoiceError('cancelled', `${what}: cancelled`);
      if (timedOut) {
        throw new VoiceError('timeout', `${what}: no response within ${String(ctx.requestTimeoutMs)} ms`);
      }
      const reason = redact(describeNetworkError(e), ctx.apiKey);
      if (attempt < retry.maxRetries && !isAbort(e)) {
        const delay = backoff(retry, attempt);
        ctx.onRetry?.({ attempt: attempt + 1, delayMs: delay, reason });
        await sleep(delay, ctx.signal);
        continue;
      }
      throw new VoiceError('network', `${what}: ${reason}`);
    }
    // Headers arrived: the header timeout is over; body reads use the idle timeout.
    clearTimeout(timer);
    if (res.ok) {
      unlinks.set(res, unlink);
      return res;
    }
    const text = await readAll(ctx, res, what)
      .finally(unlink)
      .then(
        (b) => new TextDecoder().decode(b),
        () => '',
      );
    const msg = redact(serverMessage(text), ctx.apiKey);
    const kind = kindForStatus(res.status);
    const ra = retryAfterMs(res.headers);
    const retryable = res.status === 429 || res.status >= 500;
    if (retryable && attempt < retry.maxRetries) {
      const delay = ra ?? backoff(retry, attempt);
      if (delay <= retry.maxDelayMs) {
        ctx.onRetry?.({ attempt: attempt + 1, delayMs: delay, reason: `HTTP ${String(res.status)}` });
        await sleep(delay, ctx.signal);
        continue;
      }
      // The server wants a longer pause than we may wait: report it instead.
    }
    const tail = msg ? `: ${msg}` : '';
    const after = ra !== undefined ? ` (retry after ${String(ra)} ms)` : '';
    const tries = attempt > 0 ? ` after ${String(attempt + 1)} attempts` : '';
    throw new VoiceError(kind, `${what}: HTTP ${String(res.status)}${tries}${tail}${after}`, res.status, ra);
  }
}

/** Exponential backoff with ±25 % jitter, capped. */
export function backoff(retry: RetryPolicy, attempt: number): number {
  const base = retry.baseDelayMs * 2 ** attempt;
  const jitter = base * (Math.random() * 0.5 - 0.25);
  return Math.min(retry.maxDelayMs, Math.max(0, Math.round(base + jitter)));
}

/**
 * Read body chunks with an idle timeout (`idleMs` without a byte while waiting for one); yields
 * Uint8Array chunks. One timer per body, re-armed before each read; on expiry the body is cancelled.
 */
export async function* readChunks(ctx: HttpContext, res: Response, what: string): AsyncGenerator<Uint8Array> {
  try {
    const msg = takeNodeBody(res);
    if (msg) {
      yield* nodeChunks(ctx, msg, what);
      return;
    }
    if (!res.body) return;
    const reader = res.body.getReader();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      reader.cancel().catch(() => undefined);
    }, ctx.idleTimeoutMs);
    try {
      for (;;) {
        timer.refresh();
        let r: Awaited<ReturnType<typeof reader.read>>;
        try {
          r = await reader.read();
        } catch (e) {
          if (timedOut) throw idleTimeout(ctx, what);
          throw readError(ctx, e, what);
        }
        if (timedOut) throw idleTimeout(ctx, what);
        if (r.done) return;
        if (r.value && r.value.length > 0) yield r.value;
      }
    } finally {
      clearTimeout(timer);
      reader.cancel().catch(() => undefined);
      try {
        reader.releaseLock();
      } catch {
        // already released
      }
    }
  } finally {
    unlinks.get(res)?.();
    unlinks.delete(res);
  }
}

function idleTimeout(ctx: HttpContext, what: string): VoiceError {
  return new VoiceError('timeout', `${what}: no data for ${String(ctx.idleTimeoutMs)} ms`);
}

/** A failed body read as a VoiceError (the caller's abort → cancelled, anything else → network). */
function readError(ctx: HttpContext, e: unknown, what: string): VoiceError {
  if (e instanceof VoiceError) return e;
  if (ctx.signal.aborted) return new VoiceError('cancelled', `${what}: cancelled`);
  return new VoiceError(
    'network',
    `${what}: connection lost while reading (${redact(describeNetworkError(e), ctx.apiKey)})`,
  );
}

/**
 * The body of a response from the node:http transport, read from the IncomingMessage itself (no
 * WHATWG stream): same chunks, idle timeout and errors as the stream path. Stopping early (the
 * consumer breaks, an error) closes the connection unless the body was already complete.
 */
async function* nodeChunks(ctx: HttpContext, msg: IncomingMessage, what: string): AsyncGenerator<Uint8Array> {
  const queue: Buffer[] = [];
  let ended = false;
  let failure: unknown;
  /** Resolves the pending wait: true when it was the idle timer. */
  let wake: ((idle: boolean) => void) | undefined;
  const poke = (idle = false): void => {
    const w = wake;
    wake = undefined;
    w?.(idle);
  };
  const onData = (b: Buffer): void => {
    queue.push(b);
    if (queue.length >= 16) msg.pause();
    poke();
  };
  const onEnd = (): void => {
    ended = true;
    poke();
  };
  const onError = (e: unknown): void => {
    failure ??= e;
    poke();
  };
  const onClose = (): void => {
    if (!msg.complete) failure ??= new Error('connection closed mid-body');
    ended = true;
    poke();
  };
  msg.on('data', onData);
  msg.on('end', onEnd);
  msg.on('error', onError);
  msg.on('close', onClose);
  const timer = setTimeout(() => poke(true), ctx.idleTimeoutMs);
  try {
    for (;;) {
      const c = queue.shift();
      if (c !== undefined) {
        if (queue.length === 0 && msg.isPaused()) msg.resume();
        if (c.length > 0) yield new Uint8Array(c.buffer, c.byteOffset, c.byteLength);
        continue;
      }
      if (failure !== undefined) throw readError(ctx, failure, what);
      if (ended) return;
      timer.refresh();
      const idle = await new Promise<boolean>((r) => (wake = r));
      if (idle && queue.length === 0 && !ended && failure === undefined) throw idleTimeout(ctx, what);
    }
  } finally {
    clearTimeout(timer);
    msg.off('data', onData);
    msg.off('end', onEnd);
    msg.off('error', onError);
    msg.off('close', onClose);
    if (!msg.complete) msg.destroy();
    else if (!ended) msg.resume(); // complete but unread: let it drain so the socket is reused
  }
}

/**
 * Largest whole body read into memory (JSON answers, error bodies): a transcription or a chat
 * completion is a few kilobytes; a server sending more is faulty or hostile, and reading 300 MB of it
 * took the bridge to 1.5 GB.
 */
export const MAX_BODY_BYTES = 4 << 20;

/** A whole body; more than `maxBytes` is refused (kind malformed) as soon as it is exceeded. */
export async function readAll(
  ctx: HttpContext,
  res: Response,
  what: string,
  maxBytes = MAX_BODY_BYTES,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of readChunks(ctx, res, what)) {
    n += c.length;
    if (n > maxBytes)
      throw new VoiceError('malformed', `${what}: response body over ${maxBytes} bytes, refused`);
    parts.push(c);
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
