/**
 * The plumbing both fake OpenAI servers share: a listener on an ephemeral loopback port whose
 * sockets are tracked, and delays whose timers stop() clears, so a test's teardown ends everything
 * the server had open or pending.
 */
import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

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
