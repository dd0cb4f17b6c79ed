/**
 * A fetch-compatible HTTP transport over node:http / node:https with a keep-alive Agent: the REST
 * adapter's default (the global fetch, undici, costs ~1 ms per loopback exchange; this ~0.2 ms).
 *
 * What the adapter relies on, kept from fetch: resolves with a WHATWG `Response` once the headers
 * arrive, its body streams as bytes arrive (SSE, speech); `init.signal` aborts the request before
 * or during the body (rejecting / erroring the body with the signal's reason, as fetch does);
 * connection failures reject with `TypeError('fetch failed', { cause })` carrying the socket error
 * (its `code`, e.g. ECONNREFUSED); a body cut by the server errors the stream with
 * `TypeError('terminated', { cause })`. Timeouts stay with the caller (http.ts aborts the signal).
 *
 * Connections are reused (LIFO, so a burst uses the warmest socket). A reused socket the server
 * closed while it sat idle fails the next request with ECONNRESET/EPIPE before any response byte:
 * that request is sent once more on a fresh connection. Idle sockets are dropped after
 * `idleSocketMs` (below Node's 5 s server keep-alive default) and never keep the process alive.
 */
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingMessage,
  type ClientRequest,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { FetchLike } from './http';

export interface HttpTransportOptions {
  /** Idle keep-alive sockets are closed after this long (ms). Default 4000. */
  idleSocketMs?: number;
  /** Concurrent sockets per origin. Default 8. */
  maxSockets?: number;
}

export interface HttpTransport {
  readonly fetch: FetchLike;
  /** Counters for logs and tests: sockets opened and requests sent (a stale-socket resend counts twice). */
  readonly stats: { connections: number; requests: number; staleRetries: number };
  /** Closes every socket, idle or busy; requests in flight fail. */
  close(): void;
}

const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);
const STALE_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

type Body = string | Uint8Array | undefined;

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** The request body as bytes/string (sync fast path; Blob, FormData, streams serialised by Response). */
async function bodyOf(body: RequestInit['body'], headers: Record<string, string>): Promise<Body> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  // FormData, Blob, URLSearchParams, ReadableStream: let the platform serialise it (and name its type).
  const r = new Response(body);
  const ct = r.headers.get('content-type');
  if (ct !== null && headers['content-type'] === undefined) headers['content-type'] = ct;
  return new Uint8Array(await r.arrayBuffer());
}

/** Headers as a plain object with lower-case names (cheaper than a Headers object for fetch and node:http). */
export function plainHeaders(h: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === undefined) return out;
  if (h instanceof Headers || Array.isArray(h)) {
    new Headers(h).forEach((v, k) => {
      out[k] = v;
    });
    return out;
  }
  for (const k of Object.keys(h)) out[k.toLowerCase()] = String(h[k]);
  return out;
}

function headersOf(res: IncomingMessage): Headers {
  const h = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    try {
      h.append(raw[i]!, raw[i + 1]!);
    } catch {
      // a header value fetch would refuse (invalid characters): dropped, as undici does not expose it either
    }
  }
  return h;
}

/**
 * The response body as a byte stream with backpressure; cancel() closes the connection. An abort
 * (the transport destroys the message with the signal's reason) errors it with that reason.
 */
function bodyStream(res: IncomingMessage, signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
  let finished = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const fail = (e: unknown): void => {
          if (finished) return;
          finished = true;
          controller.error(signal?.aborted ? abortReason(signal) : new TypeError('terminated', { cause: e }));
          res.destroy();
        };
        res.on('data', (b: Buffer) => {
          if (finished) return;
          controller.enqueue(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
          if ((controller.desiredSize ?? 1) <= 0) res.pause();
        });
        res.on('end', () => {
          if (finished) return;
          finished = true;
          controller.close();
        });
        res.on('error', fail);
        res.on('close', () => {
          if (!res.complete) fail(new Error('connection closed mid-body'));
        });
      },
      pull() {
        res.resume();
      },
      cancel() {
        finished = true;
        if (!res.complete) res.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * A Response whose body is read from node:http only when asked for: `body` (a WHATWG stream made
 * on first access) and the text/json/arrayBuffer/blob/formData readers work as on any Response;
 * takeNodeBody() hands the IncomingMessage itself to a reader that wants no WHATWG stream.
 */
class NodeResponse extends Response {
  #msg: IncomingMessage | undefined;
  #signal: AbortSignal | undefined;
  #stream: ReadableStream<Uint8Array> | undefined;
  #taken = false;
  #consumed = false;

  constructor(msg: IncomingMessage, signal: AbortSignal | undefined, init: ResponseInit) {
    super(null, init);
    this.#msg = msg;
    this.#signal = signal;
  }

  takeNode(): IncomingMessage | undefined {
    if (this.#taken || this.#stream !== undefined) return undefined;
    this.#taken = true;
    return this.#msg;
  }

  streamBody(): ReadableStream<Uint8Array> | null {
    if (this.#stream === undefined && !this.#taken && this.#msg)
      this.#stream = bodyStream(this.#msg, this.#signal);
    return this.#stream ?? null;
  }

  used(): boolean {
    return this.#taken || this.#consumed || (this.#stream?.locked ?? false);
  }

  /** A plain Response over the body stream, for the text/json/… readers. */
  consume(): Response {
    const stream = this.streamBody();
    if (this.used()) throw new TypeError('Body is unusable: Body has already been read');
    this.#consumed = true;
    return new Response(stream, { headers: this.headers });
  }

  cloneBody(): Response {
    const stream = this.streamBody();
    if (stream === null) return new Response(null, this);
    const [a, b] = stream.tee();
    this.#stream = a;
    return new Response(b, this);
  }
}
// Defined on the prototype (undici's typings declare these as properties, not methods).
Object.defineProperties(NodeResponse.prototype, {
  body: {
    get(this: NodeResponse) {
      return this.streamBody();
    },
  },
  bodyUsed: {
    get(this: NodeResponse) {
      return this.used();
    },
  },
  clone: {
    value: function (this: NodeResponse) {
      return this.cloneBody();
    },
  },
});
// The body readers go through a plain Response over the body stream (consume() marks it used).
for (const reader of ['arrayBuffer', 'text', 'json', 'blob', 'formData'] as const) {
  Object.defineProperty(NodeResponse.prototype, reader, {
    // async: a body already read rejects, as fetch's readers do, instead of throwing.
    value: async function (this: NodeResponse) {
      return this.consume()[reader]();
    },
  });
}

/**
 * The node:http message behind a Response made by this transport, if its body has not been read
 * yet (the caller then owns it: read it, or destroy it). Undefined for any other Response.
 */
export function takeNodeBody(res: Response): IncomingMessage | undefined {
  return res instanceof NodeResponse ? res.takeNode() : undefined;
}

export function createHttpTransport(options: HttpTransportOptions = {}): HttpTransport {
  const agentOptions = {
    keepAlive: true,
    keepAliveMsecs: 1000,
    maxSockets: options.maxSockets ?? 8,
    maxFreeSockets: options.maxSockets ?? 8,
    timeout: options.idleSocketMs ?? 4000,
    scheduling: 'lifo' as const,
  };
  const agents: Agents = { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) };
  const stats = { connections: 0, requests: 0, staleRetries: 0 };
  for (const a of [agents.http, agents.https]) {
    a.on('free', (socket) => {
      // An idle socket must not hold the process open.
      socket.unref();
    });
  }
  const send = sender(agents, stats);

  const fetchImpl: FetchLike = async (input, init) => {
    const url = new URL(input);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new TypeError(`fetch failed`, { cause: new Error(`unsupported protocol ${url.protocol}`) });
    const signal = init.signal ?? undefined;
    if (signal?.aborted) throw abortReason(signal);
    const headers = plainHeaders(init.headers);
    const body = await bodyOf(init.body, headers);
    if (signal?.aborted) throw abortReason(signal);
    const method = (init.method ?? 'GET').toUpperCase();
    if (body !== undefined) {
      headers['content-length'] = String(
        typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
      );
      if (headers['content-type'] === undefined && typeof body === 'string')
        headers['content-type'] = 'text/plain;charset=UTF-8';
    }
    headers['accept'] ??= '*/*';
    return follow(send, { url, method, headers, body, signal }, init.redirect ?? 'follow');
  };

  return {
    fetch: fetchImpl,
    stats,
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

interface Agents {
  http: HttpAgent;
  https: HttpsAgent;
}

/** One request as sent on the wire. */
interface Outgoing {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Body;
  signal: AbortSignal | undefined;
}

type Send = (out: Outgoing, retried: boolean) => Promise<Response>;

/** Sends one request (no redirects) on the agents' sockets; a stale keep-alive socket is retried once. */
function sender(agents: Agents, stats: HttpTransport['stats']): Send {
  const send: Send = (out, retried) =>
    new Promise<Response>((resolve, reject) => {
      const { url, method, headers, body, signal } = out;
      const secure = url.protocol === 'https:';
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        req.destroy();
        reject(abortReason(signal!));
      };
      const done = (): void => {
        settled = true;
        signal?.removeEventListener('abort', onAbort);
      };
      stats.requests++;
      const req: ClientRequest = (secure ? httpsRequest : httpRequest)(
        {
          agent: secure ? agents.https : agents.http,
          method,
          protocol: url.protocol,
          hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
          port: url.port || (secure ? 443 : 80),
          path: url.pathname + url.search,
          headers,
        },
        (res) => {
          if (settled) {
            res.destroy();
            return;
          }
          done();
          try {
            resolve(responseOf(res, method, signal));
          } catch (e) {
            // A status fetch cannot represent (outside 200–599).
            res.destroy();
            reject(new TypeError('fetch failed', { cause: e }));
          }
        },
      );
      req.on('socket', (socket) => {
        socket.ref();
        if (!req.reusedSocket) stats.connections++;
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (settled) return;
        done();
        // The server closed an idle keep-alive socket just as we reused it: send again on a new one.
        if (req.reusedSocket && !retried && e.code !== undefined && STALE_CODES.has(e.code)) {
          stats.staleRetries++;
          send(out, true).then(resolve, reject);
          return;
        }
        reject(new TypeError('fetch failed', { cause: e }));
      });
      if (signal) signal.addEventListener('abort', onAbort, { once: true });
      if (body === undefined) req.end();
      else req.end(body);
    });
  return send;
}

/** The Response for a node:http message; its body, if any, is read through NodeResponse. */
function responseOf(res: IncomingMessage, method: string, signal: AbortSignal | undefined): Response {
  const status = res.statusCode ?? 0;
  const init = { status, statusText: res.statusMessage ?? '', headers: headersOf(res) };
  if (NULL_BODY_STATUS.has(status) || method === 'HEAD') {
    res.resume();
    return new Response(null, init);
  }
  // Until a reader attaches, errors (an abort destroying the message) must not go unheard.
  res.on('error', () => undefined);
  if (signal) {
    const onAbort = (): void => {
      res.destroy(abortReason(signal) as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    res.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  return new NodeResponse(res, signal, init);
}

/** Redirects as fetch follows them: 307/308 resend method and body, 301/302 (POST) and 303 become GET. */
async function follow(send: Send, out: Outgoing, mode: RequestInit['redirect']): Promise<Response> {
  let { url, method, headers, body } = out;
  for (let hops = 0; ; hops++) {
    const res = await send({ url, method, headers, body, signal: out.signal }, false);
    const location = res.headers.get('location');
    if (mode === 'manual' || location === null || !REDIRECT_STATUS.has(res.status)) return res;
    await res.arrayBuffer().catch(() => undefined); // drain: the connection stays reusable
    if (mode === 'error') throw new TypeError('fetch failed', { cause: new Error('unexpected redirect') });
    if (hops >= MAX_REDIRECTS)
      throw new TypeError('fetch failed', { cause: new Error('redirect count exceeded') });
    const next = new URL(location, url);
    if (next.protocol !== 'http:' && next.protocol !== 'https:')
      throw new TypeError('fetch failed', { cause: new Error(`redirect to ${next.protocol}`) });
    headers = { ...headers };
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = undefined;
      delete headers['content-length'];
      delete headers['content-type'];
    }
    // Credentials never follow a redirect to another origin.
    if (next.origin !== url.origin) delete headers.authorization;
    url = next;
  }
}
