import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readAll, readChunks, request, type HttpContext } from '../../../host/src/voice/http';
import { createHttpTransport, type HttpTransport } from '../../../host/src/voice/transport';
import { createVoiceService, VoiceError } from '../../../host/src/voice/index';
import { FakeOpenAiRest } from '@budlink/test-support/fake-services';
import { collect, restConfig, tone, useFakeRest } from './helpers';
import { until } from '@budlink/test-support/wait';

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

/** A node:http server on 127.0.0.1 that records connections and what the client did to them. */
class TestServer {
  server: Server | undefined;
  handler: Handler = (_req, res) => res.end('ok');
  /** One entry per TCP connection: requests served on it, and whether the client closed it. */
  readonly sockets: Array<{ socket: Socket; requests: number; closed: boolean }> = [];
  readonly log: string[] = [];

  get url(): string {
    return `http://127.0.0.1:${String((this.server!.address() as AddressInfo).port)}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const entry = this.sockets.find((s) => s.socket === req.socket);
        if (entry) entry.requests++;
        this.handler(req, res, Buffer.concat(chunks));
      });
      res.on('close', () => {
        if (!res.writableFinished) this.log.push(`${req.url ?? ''}:client-closed`);
      });
    });
    this.server.on('connection', (socket: Socket) => {
      const entry = { socket, requests: 0, closed: false };
      this.sockets.push(entry);
      socket.on('close', () => (entry.closed = true));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }
}

function ctxFor(t: HttpTransport, signal: AbortSignal, extra: Partial<HttpContext> = {}): HttpContext {
  return {
    fetch: t.fetch,
    apiKey: undefined,
    retry: { maxRetries: 2, baseDelayMs: 5, maxDelayMs: 200 },
    requestTimeoutMs: 2000,
    idleTimeoutMs: 2000,
    signal,
    ...extra,
  };
}

const post = (body = '{}'): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body,
});

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('voice: node:http transport', function () {
  this.timeout(10000);
  let srv: TestServer;
  let t: HttpTransport;

  beforeEach(async () => {
    srv = await new TestServer().start();
    t = createHttpTransport();
  });
  afterEach(async () => {
    t.close();
    await srv.stop();
  });

  it('behaves as fetch: method, headers and body sent; status, headers and body read', async () => {
    let seen: { method?: string; ct?: string; len?: string; body?: string } = {};
    srv.handler = (req, res, body) => {
      seen = {
        method: req.method,
        ct: req.headers['content-type'],
        len: req.headers['content-length'],
        body: body.toString(),
      };
      res.writeHead(201, 'Made', { 'content-type': 'application/json', 'x-thing': 'a' });
      res.end('{"ok":true,"n":"é"}');
    };
    const res = await t.fetch(`${srv.url}/v1/x?q=1`, post('{"hello":"wörld"}'));
    expect(seen).to.deep.equal({
      method: 'POST',
      ct: 'application/json',
      len: String(Buffer.byteLength('{"hello":"wörld"}')),
      body: '{"hello":"wörld"}',
    });
    expect(res.status).to.equal(201);
    expect(res.statusText).to.equal('Made');
    expect(res.ok).to.equal(true);
    expect(res.headers.get('x-thing')).to.equal('a');
    expect(res.bodyUsed).to.equal(false);
    expect(await res.json()).to.deep.equal({ ok: true, n: 'é' });
    expect(res.bodyUsed).to.equal(true);
    // The WHATWG body stream and binary bodies work too.
    srv.handler = (_req, res, body) => res.end(body);
    const bytes = new Uint8Array([0, 1, 2, 255]);
    const r2 = await t.fetch(srv.url, { method: 'POST', body: bytes });
    const reader = r2.body!.getReader();
    const got: number[] = [];
    for (let c = await reader.read(); !c.done; c = await reader.read()) got.push(...c.value);
    expect(got).to.deep.equal([0, 1, 2, 255]);
    // FormData is serialised with its multipart content type.
    srv.handler = (req, res) => res.end(req.headers['content-type']);
    const form = new FormData();
    form.append('model', 'm');
    expect(await (await t.fetch(srv.url, { method: 'POST', body: form })).text()).to.match(
      /^multipart\/form-data; boundary=/,
    );
  });

  it('reuses one keep-alive connection for sequential requests', async () => {
    srv.handler = (_req, res) => res.end('x');
    for (let i = 0; i < 5; i++) expect(await (await t.fetch(srv.url, post())).text()).to.equal('x');
    expect(srv.sockets).to.have.length(1);
    expect(srv.sockets[0]!.requests).to.equal(5);
    expect(t.stats).to.deep.include({ connections: 1, requests: 5 });
  });

  it('a server that closes the connection: Connection: close, and an idle socket dropped under a request', async () => {
    srv.handler = (_req, res) => {
      res.setHeader('connection', 'close');
      res.end('bye');
    };
    expect(await (await t.fetch(srv.url, post())).text()).to.equal('bye');
    expect(await (await t.fetch(srv.url, post())).text()).to.equal('bye');
    expect(srv.sockets).to.have.length(2);
    // The server drops a kept-alive socket as the next request arrives on it (the keep-alive race):
    // the request is sent again on a fresh connection, once.
    srv.handler = (req, res) => {
      const entry = srv.sockets.find((s) => s.socket === req.socket)!;
      if (entry.requests === 2) {
        req.socket.destroy();
        return;
      }
      res.end('fresh');
    };
    expect(await (await t.fetch(srv.url, post())).text()).to.equal('fresh');
    const before = t.stats.staleRetries;
    expect(await (await t.fetch(srv.url, post())).text()).to.equal('fresh'); // socket's 2nd request
    expect(t.stats.staleRetries).to.equal(before + 1);
  });

  it('a body cut by the server is an error, never a short body', async () => {
    srv.handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('only part');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const e = await caught((await t.fetch(srv.url, post())).text());
    expect(e).to.be.instanceOf(TypeError);
    const ac = new AbortController();
    const ctx = ctxFor(t, ac.signal);
    const res = await request(ctx, srv.url, 'speech synthesis', () => post());
    const err = await caught(readAll(ctx, res, 'speech synthesis'));
    expect(err).to.be.instanceOf(VoiceError);
    expect((err as VoiceError).kind).to.equal('network');
    expect((err as VoiceError).message).to.match(/speech synthesis: connection lost while reading/);
  });

  it('aborting before the headers rejects with AbortError and closes the connection', async () => {
    srv.handler = () => undefined; // never answers
    const ac = new AbortController();
    const p = t.fetch(srv.url, { ...post(), signal: ac.signal });
    await until('the request', () => srv.sockets.length === 1 && srv.sockets[0]!.requests === 1, 3000);
    ac.abort();
    const e = await caught(p);
    expect((e as Error).name).to.equal('AbortError');
    await until('the connection to close', () => srv.sockets[0]!.closed, 3000);
    // An already aborted signal never sends anything.
    const e2 = await caught(t.fetch(srv.url, { ...post(), signal: ac.signal }));
    expect((e2 as Error).name).to.equal('AbortError');
    expect(srv.sockets).to.have.length(1);
  });

  it('cancellation mid-stream: the reader gets cancelled, the server sees the client close', async () => {
    srv.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: one\n\n'); // and holds the stream open
    };
    // Through http.ts (the adapter's path: no WHATWG stream).
    const ac = new AbortController();
    const ctx = ctxFor(t, ac.signal);
    const res = await request(ctx, `${srv.url}/sse`, 'chat completion', () => post());
    const it = readChunks(ctx, res, 'chat completion');
    const first = await it.next();
    expect(new TextDecoder().decode(first.value as Uint8Array)).to.equal('data: one\n\n');
    const pending = it.next();
    ac.abort();
    const e = await caught(pending);
    expect((e as VoiceError).kind).to.equal('cancelled');
    await until('the client to close the stream', () => srv.log.includes('/sse:client-closed'), 3000);
    // Through the WHATWG body stream (plain fetch callers).
    const ac2 = new AbortController();
    const r2 = await t.fetch(`${srv.url}/web`, { ...post(), signal: ac2.signal });
    const reader = r2.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).to.equal('data: one\n\n');
    const read2 = reader.read();
    ac2.abort();
    expect(((await caught(read2)) as Error).name).to.equal('AbortError');
    await until('the client to close the stream', () => srv.log.includes('/web:client-closed'), 3000);
  });

  it('stopping early closes an unfinished stream; a finished body keeps its connection', async () => {
    srv.handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.url === '/done') res.end('data: [DONE]\n\n');
      else res.write('data: x\n\n');
    };
    const ac = new AbortController();
    const ctx = ctxFor(t, ac.signal);
    for await (const c of readChunks(
      ctx,
      await request(ctx, `${srv.url}/done`, 'chat', () => post()),
      'chat',
    )) {
      expect(c.length).to.be.greaterThan(0);
      break;
    }
    for await (const c of readChunks(
      ctx,
      await request(ctx, `${srv.url}/open`, 'chat', () => post()),
      'chat',
    )) {
      expect(c.length).to.be.greaterThan(0);
      break;
    }
    await until('the open stream to be closed', () => srv.log.includes('/open:client-closed'), 3000);
    // The finished one went back to the pool: /done and /open shared one connection, /open's is closed.
    expect(srv.sockets.map((x) => [x.requests, x.closed])).to.deep.equal([[2, true]]);
  });

  it('timeouts: no headers within requestMs, no body bytes within idleMs; both typed timeout', async () => {
    srv.handler = (req, res) => {
      if (req.url === '/idle') {
        res.writeHead(200);
        res.write('a');
      }
      // /hang: nothing at all
    };
    const ac = new AbortController();
    const ctx = ctxFor(t, ac.signal, { requestTimeoutMs: 100, idleTimeoutMs: 100 });
    const e1 = await caught(request(ctx, `${srv.url}/hang`, 'transcription', () => post()));
    expect((e1 as VoiceError).kind).to.equal('timeout');
    expect((e1 as VoiceError).message).to.equal('transcription: no response within 100 ms');
    const res = await request(ctx, `${srv.url}/idle`, 'speech synthesis', () => post());
    const e2 = await caught(readAll(ctx, res, 'speech synthesis'));
    expect((e2 as VoiceError).kind).to.equal('timeout');
    expect((e2 as VoiceError).message).to.equal('speech synthesis: no data for 100 ms');
    // Timeouts are not retried, and both connections were closed.
    await until('the connections to close', () => srv.sockets.every((s) => s.closed), 3000);
    expect(srv.sockets.map((s) => s.requests)).to.deep.equal([1, 1]);
  });

  it('429 and 5xx keep their types, waits and retries; connection refused is network', async () => {
    let n = 0;
    srv.handler = (req, res) => {
      n++;
      if (req.url === '/limited' && n === 1) {
        res.writeHead(429, { 'retry-after-ms': '20', 'content-type': 'application/json' });
        res.end('{"error":{"message":"slow down"}}');
      } else if (req.url === '/limited') {
        res.end('ok');
      } else if (req.url === '/long') {
        res.writeHead(429, { 'retry-after': '60' });
        res.end();
      } else {
        res.writeHead(503);
        res.end('{"error":{"message":"overloaded"}}');
      }
    };
    const ac = new AbortController();
    const retries: number[] = [];
    const ctx = ctxFor(t, ac.signal, { onRetry: (i) => retries.push(i.delayMs) });
    const ok = await request(ctx, `${srv.url}/limited`, 'chat', () => post());
    expect(new TextDecoder().decode(await readAll(ctx, ok, 'chat'))).to.equal('ok');
    expect(retries).to.deep.equal([20]);
    const long = (await caught(request(ctx, `${srv.url}/long`, 'chat', () => post()))) as VoiceError;
    expect(long.kind).to.equal('rate-limited');
    expect(long.retryAfterMs).to.equal(60000);
    n = 0;
    const down = (await caught(request(ctx, `${srv.url}/down`, 'chat', () => post()))) as VoiceError;
    expect(down.kind).to.equal('server');
    expect(down.status).to.equal(503);
    expect(down.message).to.equal('chat: HTTP 503 after 3 attempts: overloaded');
    expect(n).to.equal(3);
    // Every error answer was read to its end: the connection is still the first one.
    expect(srv.sockets).to.have.length(1);
    const url = srv.url;
    t.close();
    await srv.stop();
    t = createHttpTransport();
    const refused = await caught(t.fetch(url, post()));
    expect(refused).to.be.instanceOf(TypeError);
    expect(((refused as Error).cause as NodeJS.ErrnoException).code).to.equal('ECONNREFUSED');
    const viaRequest = (await caught(
      request(
        ctxFor(t, ac.signal, { retry: { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1 } }),
        url,
        'chat',
        () => post(),
      ),
    )) as VoiceError;
    expect(viaRequest.kind).to.equal('network');
    expect(viaRequest.message).to.match(/ECONNREFUSED/);
    srv = await new TestServer().start(); // for afterEach
  });

  it('follows redirects as fetch does; the Authorization header stays on its origin', async () => {
    const other = await new TestServer().start();
    try {
      const seen: string[] = [];
      other.handler = (req, res, body) => {
        seen.push(
          `other ${req.method ?? ''} ${req.url ?? ''} ${body.toString()} auth=${String(req.headers.authorization)}`,
        );
        res.end('there');
      };
      srv.handler = (req, res, body) => {
        seen.push(
          `srv ${req.method ?? ''} ${req.url ?? ''} ${body.toString()} auth=${String(req.headers.authorization)}`,
        );
        if (req.url === '/307') res.writeHead(307, { location: '/new' }).end();
        else if (req.url === '/303') res.writeHead(303, { location: '/new' }).end();
        else if (req.url === '/away') res.writeHead(308, { location: `${other.url}/x` }).end();
        else res.end('here');
      };
      const init = { method: 'POST', headers: { authorization: 'Bearer k' }, body: 'B' };
      expect(await (await t.fetch(`${srv.url}/307`, init)).text()).to.equal('here');
      expect(await (await t.fetch(`${srv.url}/303`, init)).text()).to.equal('here');
      expect(await (await t.fetch(`${srv.url}/away`, init)).text()).to.equal('there');
      expect(seen).to.deep.equal([
        'srv POST /307 B auth=Bearer k',
        'srv POST /new B auth=Bearer k',
        'srv POST /303 B auth=Bearer k',
        'srv GET /new  auth=Bearer k',
        'srv POST /away B auth=Bearer k',
        'other POST /x B auth=undefined',
      ]);
      const manual = await t.fetch(`${srv.url}/307`, { ...init, redirect: 'manual' });
      expect(manual.status).to.equal(307);
      await manual.arrayBuffer();
    } finally {
      t.close(); // before other.stop(): no socket to it left open
      await other.stop();
    }
  });

  it('close() ends idle keep-alive connections', async () => {
    await (await t.fetch(srv.url, post())).text();
    expect(srv.sockets[0]!.closed).to.equal(false);
    t.close();
    await until('the idle connection to close', () => srv.sockets[0]!.closed, 3000);
  });
});

describe('voice: REST adapter transport', function () {
  this.timeout(10000);
  let fake: FakeOpenAiRest;
  useFakeRest((f) => (fake = f));

  it('an injected fetch is used for every request (tests, the global fetch)', async () => {
    const urls: string[] = [];
    const svc = createVoiceService(restConfig(fake.baseUrl), {
      rest: {
        fetch: (input, init) => {
          urls.push(input.slice(fake.baseUrl.length));
          return fetch(input, init);
        },
      },
    });
    fake.options.reply = () => 'Only one sentence here.';
    const { error } = await collect(
      svc.respond({ deviceId: 'd', audio: tone(4000, 300, 8000), sampleRate: 8000 }),
    );
    expect(error).to.equal(undefined);
    expect(urls).to.deep.equal(['/audio/transcriptions', '/chat/completions', '/audio/speech']);
    await svc.close();
  });

  it('the default transport: each turn uploads a multipart WAV the fake accepts', async () => {
    fake.options.reply = () => 'Only one sentence here.';
    const svc = createVoiceService(restConfig(fake.baseUrl));
    const audio = tone(4000, 300, 8000);
    for (let i = 0; i < 3; i++) {
      const { error } = await collect(svc.respond({ deviceId: 'd', audio, sampleRate: 8000 }));
      expect(error).to.equal(undefined);
    }
    // The fake validated each upload (multipart fields and the WAV itself): no violations.
    expect(fake.requests.filter((r) => r.route === 'transcriptions')).to.have.length(3);
    await svc.close();
  });
});
