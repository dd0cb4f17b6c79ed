/**
 * A private D-Bus daemon (type "system") for the BlueZ emulator and node-ble, so the real node-ble
 * code path runs on machines without Bluetooth. One bus per test process or suite; see
 * docs/BLUEZ-EMULATION.md. The daemon gets its own config file in a temp dir with a permissive
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

  // The daemon runs under a small sh guardian that holds our stdin pipe: when this process dies in any
  // way (even SIGKILL) the pipe closes, `read` returns and the guardian stops the daemon. No orphans.
  const guardian =
    'trap "" INT; "$0" "$@" & d=$!; echo "pid $d"; read _line; kill -TERM "$d" 2>/dev/null; wait "$d"';
  let child: ChildProcess;
  try {
    child = spawn('sh', ['-c', guardian, daemon, `--config-file=${configPath}`, '--nofork', '--nosyslog'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new BusError('start-failed', `could not spawn ${daemon}: ${String(e)}`);
  }
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    if (stderr.length < 4000) stderr += d;
  });
  let pid: number | undefined;
  let stdout = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (d: string) => {
    if (pid !== undefined) return;
    stdout += d;
    const m = /^pid (\d+)$/m.exec(stdout);
    if (m !== null) pid = Number(m[1]);
  });
  child.stdin?.on('error', () => {
    // the guardian is gone already
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  let spawnError: Error | undefined;
  child.once('error', (e) => {
    spawnError = e;
  });
  const alive = (p: number): boolean => {
    try {
      process.kill(p, 0);
      return true;
    } catch {
      return false;
    }
  };
  const signal = (p: number | undefined, sig: NodeJS.Signals): void => {
    if (p === undefined) return;
    try {
      process.kill(p, sig);
    } catch {
      // already gone
    }
  };
  // Synchronous last resort when the process exits without stop() (e.g. mocha --exit).
  const onExit = (): void => {
    signal(pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);

  const cleanup = async (): Promise<void> => {
    process.off('exit', onExit);
    signal(pid, 'SIGTERM');
    child.stdin?.end();
    const t = setTimeout(() => {
      signal(pid, 'SIGKILL');
      signal(child.pid, 'SIGKILL');
    }, 2000);
    await exited;
    clearTimeout(t);
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 5000);
  // Ready = accepting connections. The socket file appears at bind(), a moment before listen():
  // a client connecting in between gets ECONNREFUSED, so probe with a real connection.
  const accepting = (): Promise<boolean> =>
    new Promise((resolve) => {
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
  while (pid === undefined || !existsSync(socketPath) || !(await accepting())) {
    const died = pid !== undefined && !alive(pid);
    if (
      spawnError !== undefined ||
      died ||
      child.exitCode !== null ||
      child.signalCode !== null ||
      Date.now() > deadline
    ) {
      await cleanup();
      const why =
        spawnError?.message ??
        (stderr.trim() || (died ? 'exited at start' : `not ready in ${options.readyTimeoutMs ?? 5000} ms`));
      throw new BusError('start-failed', `dbus-daemon did not come up: ${why}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const daemonPid = pid;
  let stopping: Promise<void> | undefined;
  return {
    address: `unix:path=${socketPath}`,
    pid: daemonPid,
    stop: () => (stopping ??= cleanup()),
  };
}
