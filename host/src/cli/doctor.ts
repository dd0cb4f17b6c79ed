/**
 * `budlink doctor`: is this machine ready to bridge earbuds? Each check prints ✓ or ✗ with a hint.
 *   - the D-Bus system bus is reachable
 *   - BlueZ (org.bluez) is on it
 *   - the D-Bus policy file node-ble needs (/etc/dbus-1/system.d/node-ble.conf)
 *   - a Bluetooth adapter is present and powered
 *   - the voice service answers
 *   - the firmware bundles are built (for simulate / demo)
 */
import { existsSync, readFileSync } from 'node:fs';
import * as dbus from 'dbus-next';
import type { VoiceConfig } from '../voice/config';
import { bundlePathFor } from '@budlink/firmware/bundle';
import { within } from '@budlink/link';
import { SIM_DEFAULTS } from '../defaults';
import type { Command, CommandContext } from './command';
import type { CliIo } from './io';

export interface Check {
  name: string;
  ok: boolean;
  /** What was found. */
  detail: string;
  /** How to fix it (when not ok). */
  hint?: string;
  /** A failed optional check does not fail the command. */
  optional?: boolean;
}

export interface DoctorOptions {
  env: Record<string, string | undefined>;
  voice: VoiceConfig;
  /** Default /etc/dbus-1/system.d/node-ble.conf */
  policyFile?: string;
  /** Firmware bundle to look for. */
  bundlePath?: string;
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}

export const POLICY_FILE = '/etc/dbus-1/system.d/node-ble.conf';
const DEFAULT_SYSTEM_BUS = 'unix:path=/var/run/dbus/system_bus_socket';

type Variant = { value: unknown };
interface Props {
  Get(iface: string, prop: string): Promise<Variant>;
}
interface DbusIface {
  ListNames(): Promise<string[]>;
}
interface ObjectManagerIface {
  GetManagedObjects(): Promise<Record<string, Record<string, Record<string, Variant>>>>;
}

async function busChecks(options: DoctorOptions, timeoutMs: number): Promise<Check[]> {
  const address = options.env.DBUS_SYSTEM_BUS_ADDRESS ?? DEFAULT_SYSTEM_BUS;
  const checks: Check[] = [];
  let bus: dbus.MessageBus | undefined;
  try {
    // systemBus() only reads $DBUS_SYSTEM_BUS_ADDRESS; connecting by address is the same protocol.
    const socket = /^unix:path=([^,;]+)/.exec(address)?.[1];
    if (socket !== undefined && !existsSync(socket)) throw new Error(`no socket at ${socket}`);
    bus = dbus.sessionBus({ busAddress: address });
    const failed = new Promise<never>((_, reject) => {
      bus?.on('error', (e: unknown) => reject(e instanceof Error ? e : new Error(String(e))));
    });
    failed.catch(() => undefined);
    const proxy = await within(
      Promise.race([bus.getProxyObject('org.freedesktop.DBus', '/org/freedesktop/DBus'), failed]),
      timeoutMs,
      'D-Bus',
    );
    const names = await within(
      (proxy.getInterface('org.freedesktop.DBus') as unknown as DbusIface).ListNames(),
      timeoutMs,
      'D-Bus ListNames',
    );
    checks.push({ name: 'D-Bus system bus', ok: true, detail: address });
    if (!names.includes('org.bluez')) {
      checks.push({
        name: 'BlueZ on D-Bus',
        ok: false,
        detail: 'org.bluez is not on the system bus',
        hint: 'install and start BlueZ: sudo apt-get install bluez && sudo systemctl enable --now bluetooth',
      });
      checks.push({
        name: 'Bluetooth adapter',
        ok: false,
        detail: 'no BlueZ, no adapter',
        hint: 'fix BlueZ first',
      });
      return checks;
    }
    checks.push({ name: 'BlueZ on D-Bus', ok: true, detail: 'org.bluez answers' });
    const root = await within(bus.getProxyObject('org.bluez', '/'), timeoutMs, 'BlueZ');
    let adapters: { path: string; powered: boolean; address: string }[] = [];
    try {
      const om = root.getInterface('org.freedesktop.DBus.ObjectManager') as unknown as ObjectManagerIface;
      const objects = await within(om.GetManagedObjects(), timeoutMs, 'BlueZ GetManagedObjects');
      adapters = Object.entries(objects)
        .filter(([, ifaces]) => 'org.bluez.Adapter1' in ifaces)
        .map(([path, ifaces]) => {
          const a = ifaces['org.bluez.Adapter1'] as Record<string, Variant>;
          return { path, powered: a.Powered?.value === true, address: String(a.Address?.value ?? '?') };
        });
    } catch {
      // Fall back to the usual path.
      const hci = await within(bus.getProxyObject('org.bluez', '/org/bluez/hci0'), timeoutMs, 'BlueZ hci0');
      const props = hci.getInterface('org.freedesktop.DBus.Properties') as unknown as Props;
      const powered = await props.Get('org.bluez.Adapter1', 'Powered');
      const addr = await props.Get('org.bluez.Adapter1', 'Address');
      adapters = [{ path: '/org/bluez/hci0', powered: powered.value === true, address: String(addr.value) }];
    }
    if (adapters.length === 0) {
      checks.push({
        name: 'Bluetooth adapter',
        ok: false,
        detail: 'BlueZ lists no adapter',
        hint: 'plug in a Bluetooth LE adapter, or check `rfkill list` and `btmgmt info`',
      });
    } else {
      const a =
        adapters.find((x) => x.powered) ??
        (adapters[0] as { path: string; powered: boolean; address: string });
      checks.push({
        name: 'Bluetooth adapter',
        ok: a.powered,
        detail: `${a.path.split('/').pop() ?? a.path} (${a.address}) ${a.powered ? 'powered' : 'off'}`,
        hint: a.powered
          ? undefined
          : 'power it on: bluetoothctl power on (and `rfkill unblock bluetooth` if blocked)',
      });
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    checks.push({
      name: 'D-Bus system bus',
      ok: false,
      detail: `${address}: ${msg}`,
      hint: 'install and start D-Bus (sudo apt-get install dbus), or set DBUS_SYSTEM_BUS_ADDRESS',
    });
    checks.push({ name: 'BlueZ on D-Bus', ok: false, detail: 'no system bus', hint: 'fix D-Bus first' });
    checks.push({ name: 'Bluetooth adapter', ok: false, detail: 'no system bus', hint: 'fix D-Bus first' });
  } finally {
    bus?.disconnect();
  }
  return checks;
}

function policyCheck(path: string): Check {
  const hint =
    `create ${path} allowing your user to talk to org.bluez (node-ble README), e.g. ` +
    `<policy user="$USER"><allow own="org.bluez"/><allow send_destination="org.bluez"/>` +
    `<allow send_interface="org.bluez.GattCharacteristic1"/><allow send_interface="org.bluez.GattDescriptor1"/>` +
    `<allow send_interface="org.freedesktop.DBus.ObjectManager"/><allow send_interface="org.freedesktop.DBus.Properties"/></policy>`;
  if (!existsSync(path))
    return { name: 'node-ble D-Bus policy', ok: false, detail: `${path} is missing`, hint };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { name: 'node-ble D-Bus policy', ok: false, detail: `${path}: ${String(e)}`, hint };
  }
  if (!text.includes('org.bluez')) {
    return { name: 'node-ble D-Bus policy', ok: false, detail: `${path} does not mention org.bluez`, hint };
  }
  return { name: 'node-ble D-Bus policy', ok: true, detail: path };
}

async function voiceCheck(options: DoctorOptions, timeoutMs: number): Promise<Check> {
  const v = options.voice;
  if (v.adapter === 'loopback') {
    return {
      name: 'voice service',
      ok: true,
      detail: 'loopback (plays utterances back; set OPENAI_API_KEY or OPENAI_BASE_URL for a real service)',
    };
  }
  const url = `${v.baseUrl.replace(/\/+$/, '')}/models`;
  const f = options.fetchImpl ?? fetch;
  const ctrl = new AbortController();
  const t = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    const headers: Record<string, string> = {};
    if (v.apiKey) headers.authorization = `Bearer ${v.apiKey.reveal()}`;
    const res = await f(url, { headers, signal: ctrl.signal });
    await res.body?.cancel().catch(() => undefined);
    if (res.status === 401 || res.status === 403) {
      return {
        name: 'voice service',
        ok: false,
        detail: `${v.baseUrl} (${v.adapter}) answers ${res.status}: the API key is refused`,
        hint: 'check OPENAI_API_KEY',
      };
    }
    return {
      name: 'voice service',
      ok: true,
      detail: `${v.baseUrl} (${v.adapter}) answers (HTTP ${res.status})`,
    };
  } catch (e) {
    const msg = ctrl.signal.aborted
      ? `no answer in ${timeoutMs} ms`
      : e instanceof Error
        ? e.cause instanceof Error
          ? e.cause.message
          : e.message
        : String(e);
    return {
      name: 'voice service',
      ok: false,
      detail: `${v.baseUrl} (${v.adapter}): ${msg}`,
      hint: 'check OPENAI_BASE_URL and that the server is running (and reachable from this machine)',
    };
  } finally {
    clearTimeout(t);
  }
}

export async function runDoctor(options: DoctorOptions): Promise<Check[]> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const [bus, voice] = await Promise.all([busChecks(options, timeoutMs), voiceCheck(options, timeoutMs)]);
  const checks = [...bus.slice(0, 2), policyCheck(options.policyFile ?? POLICY_FILE), ...bus.slice(2), voice];
  if (options.bundlePath !== undefined) {
    const ok = existsSync(options.bundlePath);
    checks.push({
      name: 'firmware bundle',
      ok,
      detail: ok ? options.bundlePath : `${options.bundlePath} not built`,
      hint: ok ? undefined : 'npm run build (needed by `budlink simulate` and `budlink demo`)',
      optional: true,
    });
  }
  return checks;
}

export function formatChecks(checks: Check[]): string {
  return checks
    .map(
      (c) =>
        `${c.ok ? '✓' : c.optional ? '!' : '✗'} ${c.name}: ${c.detail}${!c.ok && c.hint ? `\n    fix: ${c.hint}` : ''}`,
    )
    .join('\n');
}

export const doctorCommand: Command<Record<never, never>> = {
  summary: 'check BlueZ, D-Bus policy, adapter and voice service',
  usage: `budlink doctor

Checks that the D-Bus system bus is reachable, BlueZ is on it, the D-Bus policy file node-ble needs
exists (/etc/dbus-1/system.d/node-ble.conf), an adapter is powered, and the voice service answers.
Prints ✓ or ✗ per check with a fix hint; exits 1 if any required check fails.`,
  options: {},
  run: runDoctorCommand,
};

async function runDoctorCommand(a: CommandContext<Record<never, never>>, io: CliIo): Promise<number> {
  const checks = await runDoctor({
    env: io.env,
    voice: a.loaded.voice,
    bundlePath: bundlePathFor(SIM_DEFAULTS.board),
  });
  if (a.json) for (const c of checks) io.stdout(JSON.stringify(c));
  else io.stdout(formatChecks(checks));
  return checks.every((c) => c.ok || c.optional) ? 0 : 1;
}
