/**
 * The plumbing the fake servers share: a listener on an ephemeral loopback port whose
 * sockets are tracked, and delays whose timers stop() clears, so a test's teardown ends everything
 * the server had open or pending.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';

export class Loopback {
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Listens on 127.0.0.1 (an ephemeral port), tracking every connection. */
  async listen(server: Server): Promise<void> {
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  }

  /** `http://127.0.0.1:PORT/v1` of a listening server. */
  static baseUrl(server: Server | undefined): string {
    const a = server?.address() as AddressInfo;
    return `http://127.0.0.1:${String(a.port)}/v1`;
  }

  /** Calls fn after ms unless stop() comes first. */
  timer(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
    return t;
  }

  delay(ms: number): Promise<void> {
    return new Promise((r) => this.timer(r, ms));
  }

  /** Clears pending timers and destroys every open connection. */
  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    for (const s of this.sockets) s.destroy();
  }
}

export function closeServer(server: { close(cb: () => void): unknown } | undefined): Promise<void> {
  return new Promise<void>((r) => (server ? server.close(() => r()) : r()));
}

/** Refuse a WebSocket upgrade: an HTTP status with a JSON body and extra headers, then close. */
export function refuseUpgrade(
  socket: Duplex,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  const h = Object.entries({
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    ...headers,
  })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 ${String(status)} Error\r\n${h}\r\n${body}`);
}

/** Stop a WebSocket fake: terminate its clients, then stop the loopback and close both servers. */
export async function stopWebSocketFake(
  wss: WebSocketServer | undefined,
  http: Server | undefined,
  loopback: Loopback,
): Promise<void> {
  for (const c of wss?.clients ?? []) c.terminate();
  loopback.stop();
  await closeServer(wss);
  await closeServer(http);
}

/**
 * An HTTP server that only upgrades (plain requests get 426) and a WebSocketServer for
 * `onUpgrade` to hand accepted upgrades to.
 */
export function webSocketServers(
  onUpgrade: (wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer) => void,
): { http: Server; wss: WebSocketServer } {
  const http = createServer((_req, res) => {
    res.writeHead(426);
    res.end();
  });
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => onUpgrade(wss, req, socket, head));
  return { http, wss };
}
