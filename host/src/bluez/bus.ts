/**
 * A private D-Bus daemon (type "system") for the BlueZ emulator and node-ble, so the real node-ble
 * code path runs on machines without Bluetooth. One bus per test process or suite; see
 * docs/BLUEZ-EMULATION.md. The daemon gets its own config file in a temp dir with a permissive
 * default policy (without any <policy> the daemon silently drops even the Hello reply).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

  let child: ChildProcess;
  try {
    child = spawn(daemon, [`--config-file=${configPath}`, '--nofork', '--nosyslog', '--print-pid=1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
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
  child.stdout?.resume();
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  let spawnError: Error | undefined;
  child.once('error', (e) => {
    spawnError = e;
  });

  const cleanup = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const t = setTimeout(() => {
        if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
          try {
            process.kill(child.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }, 2000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 5000);
  while (!existsSync(socketPath)) {
    if (
      spawnError !== undefined ||
      child.exitCode !== null ||
      child.signalCode !== null ||
      Date.now() > deadline
    ) {
      await cleanup();
      const why =
        spawnError?.message ?? (stderr.trim() || `exit ${String(child.exitCode ?? child.signalCode)}`);
      throw new BusError('start-failed', `dbus-daemon did not come up: ${why}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const pid = child.pid;
  if (pid === undefined) {
    await cleanup();
    throw new BusError('start-failed', 'dbus-daemon has no pid');
  }
  let stopping: Promise<void> | undefined;
  return {
    address: `unix:path=${socketPath}`,
    pid,
    stop: () => (stopping ??= cleanup()),
  };
}
