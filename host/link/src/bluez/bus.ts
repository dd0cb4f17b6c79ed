/**
 * A private D-Bus daemon (type "system") for the BlueZ emulator and node-ble, so the real node-ble
 * code path runs on machines without Bluetooth. One bus per test process or suite; see
 * host/link/README.md. The daemon gets its own config file in a temp dir with a permissive
 * default policy (without any <policy> the daemon silently drops even the Hello reply).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createConnection } from 'node:net';
import { join } from 'node:path';

export interface PrivateBus {
  /** D-Bus address, e.g. `unix:path=/tmp/budlink-bus-XXXX/system_bus_socket`. */
  readonly address: string;
  readonly pid: number;
  /** SIGTERM by PID, wait for exit, remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export class BusError extends Error {
  constructor(
    readonly kind: 'not-installed' | 'start-failed',
    message: string,
  ) {
    super(message);
    this.name = 'BusError';
  }
}

export interface StartBusOptions {
  /** dbus-daemon binary (default: found on PATH). */
  daemonPath?: string;
  /** How long to wait for the socket (default 5000 ms). */
  readyTimeoutMs?: number;
}

/** Where dbus-daemon is, or undefined when it is not installed. */
export function findDbusDaemon(): string | undefined {
  for (const p of ['/usr/bin/dbus-daemon', '/bin/dbus-daemon', '/usr/local/bin/dbus-daemon']) {
    if (existsSync(p)) return p;
  }
  const r = spawnSync('sh', ['-c', 'command -v dbus-daemon'], { encoding: 'utf8' });
  const found = r.status === 0 ? r.stdout.trim() : '';
  return found.length > 0 ? found : undefined;
}

function configXml(socketPath: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socketPath}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`;
}

export async function startPrivateBus(options: StartBusOptions = {}): Promise<PrivateBus> {
  const daemon = options.daemonPath ?? findDbusDaemon();
  if (daemon === undefined || !existsSync(daemon)) {
    throw new BusError(
      'not-installed',
      'dbus-daemon is not installed (Debian/Ubuntu: apt-get install dbus); it is needed to run node-ble against the BlueZ emulator',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'budlink-bus-'));
  const socketPath = join(dir, 'system_bus_socket');
  const configPath = join(dir, 'bus.conf');
  writeFileSync(configPath, configXml(socketPath));
  let proc: GuardedDaemon;
  try {
    proc = new GuardedDaemon(daemon, configPath, dir);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new BusError('start-failed', `could not spawn ${daemon}: ${String(e)}`);
  }
  const readyMs = options.readyTimeoutMs ?? 5000;
  const deadline = Date.now() + readyMs;
  while (proc.pid === undefined || !existsSync(socketPath) || !(await accepting(socketPath))) {
    if (proc.failed() || Date.now() > deadline) {
      await proc.stop();
      throw new BusError('start-failed', `dbus-daemon did not come up: ${proc.why(readyMs)}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const pid = proc.pid;
  let stopping: Promise<void> | undefined;
  return {
    address: `unix:path=${socketPath}`,
    pid,
    stop: () => (stopping ??= proc.stop()),
  };
}

/**
 * Ready = accepting connections. The socket file appears at bind(), a moment before listen(): a
 * client connecting in between gets ECONNREFUSED, so probe with a real connection.
 */
function accepting(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => {
      probe.destroy();
      resolve(false);
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * dbus-daemon under a small sh guardian that holds our stdin pipe: when this process dies in any
 * way (even SIGKILL) the pipe closes, `read` returns and the guardian stops the daemon. No orphans.
 */
class GuardedDaemon {
  /** The daemon's pid, once the guardian has told it. */
  pid: number | undefined;
  private readonly child: ChildProcess;
  private stderr = '';
  private spawnError: Error | undefined;
  private readonly exited: Promise<void>;
  /** Synchronous last resort when the process exits without stop() (e.g. mocha --exit). */
  private readonly onExit = (): void => {
    signal(this.pid, 'SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  };

  constructor(
    daemon: string,
    configPath: string,
    private readonly dir: string,
  ) {
    const guardian =
      'trap "" INT; "$0" "$@" & d=$!; echo "pid $d"; read _line; kill -TERM "$d" 2>/dev/null; wait "$d"';
    const child = spawn(
      'sh',
      ['-c', guardian, daemon, `--config-file=${configPath}`, '--nofork', '--nosyslog'],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      if (this.stderr.length < 4000) this.stderr += d;
    });
    let stdout = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      if (this.pid !== undefined) return;
      stdout += d;
      const m = /^pid (\d+)$/m.exec(stdout);
      if (m !== null) this.pid = Number(m[1]);
    });
    child.stdin?.on('error', () => {
      // the guardian is gone already
    });
    this.exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.once('error', (e) => {
      this.spawnError = e;
    });
    process.on('exit', this.onExit);
  }

  private died(): boolean {
    return this.pid !== undefined && !alive(this.pid);
  }

  /** The daemon (or its guardian) failed to start or exited. */
  failed(): boolean {
    const c = this.child;
    return this.spawnError !== undefined || this.died() || c.exitCode !== null || c.signalCode !== null;
  }

  /** Why it did not come up within `readyMs`. */
  why(readyMs: number): string {
    return (
      this.spawnError?.message ??
      (this.stderr.trim() || (this.died() ? 'exited at start' : `not ready in ${readyMs} ms`))
    );
  }

  async stop(): Promise<void> {
    process.off('exit', this.onExit);
    signal(this.pid, 'SIGTERM');
    this.child.stdin?.end();
    const t = setTimeout(() => {
      signal(this.pid, 'SIGKILL');
      signal(this.child.pid, 'SIGKILL');
    }, 2000);
    await this.exited;
    clearTimeout(t);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
