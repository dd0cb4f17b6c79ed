/**
 * `budlink doctor`: is this machine ready to bridge earbuds? Each check prints ✓ or ✗ with a hint.
 *   - the D-Bus system bus is reachable
 *   - BlueZ (org.bluez) is on it
 *   - BlueZ's version (5.62 or later: older ones fall back to 20-byte payloads)
 *   - the D-Bus policy file node-ble needs (/etc/dbus-1/system.d/node-ble.conf), unless run as root;
 *     `--write-policy FILE` writes a complete one for the current user
 *   - a Bluetooth adapter is present and powered
 *   - the voice service answers, accepts the key, and offers the configured models (every server the
 *     configuration sends requests to)
 *   - the firmware bundles are built (for simulate / demo)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import * as dbus from 'dbus-next';
import { keyGoesTo, type VoiceConfig } from '../voice/config';
import { missingLocalTools } from '../voice/local-tools';
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
  /** Who runs the bridge (default this process's uid and user name): root needs no policy file. */
  user?: { uid: number; name: string };
  /** BlueZ's version, e.g. "5.66" (default: asked of bluetoothd; undefined: not found). */
  bluezVersion?: () => string | undefined;
}

/** BlueZ from which node-ble gets the negotiated ATT MTU; older ones give 20-byte payloads. */
export const MIN_BLUEZ = '5.62';

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

/** A complete D-Bus policy file that lets `user` use BlueZ through node-ble. */
export function policyFile(user: string): string {
  const allow = [
    'own="org.bluez"',
    'send_destination="org.bluez"',
    'send_interface="org.bluez.GattCharacteristic1"',
    'send_interface="org.bluez.GattDescriptor1"',
    'send_interface="org.freedesktop.DBus.ObjectManager"',
    'send_interface="org.freedesktop.DBus.Properties"',
  ];
  return [
    '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"',
    ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">',
    '<busconfig>',
    `  <policy user="${user.replace(/[^A-Za-z0-9._-]/g, '')}">`,
    ...allow.map((a) => `    <allow ${a}/>`),
    '  </policy>',
    '</busconfig>',
    '',
  ].join('\n');
}

function policyCheck(path: string, user: { uid: number; name: string }): Check {
  const name = 'node-ble D-Bus policy';
  if (user.uid === 0) return { name, ok: true, detail: 'not needed: running as root' };
  const hint =
    `budlink doctor --write-policy node-ble.conf, then: sudo cp node-ble.conf ${path} && ` +
    'sudo systemctl reload dbus';
  if (!existsSync(path)) return { name, ok: false, detail: `${path} is missing`, hint };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { name, ok: false, detail: `${path}: ${String(e)}`, hint };
  }
  if (!text.includes('org.bluez')) {
    return { name, ok: false, detail: `${path} does not mention org.bluez`, hint };
  }
  return { name, ok: true, detail: path };
}

/** bluetoothd's version ("5.66"), or undefined when it is not installed here. */
function bluetoothdVersion(): string | undefined {
  for (const bin of ['/usr/libexec/bluetooth/bluetoothd', '/usr/sbin/bluetoothd', 'bluetoothd']) {
    try {
      const out = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 2000, stdio: 'pipe' });
      const m = /(\d+)\.(\d+)/.exec(out);
      if (m) return `${m[1]}.${m[2]}`;
    } catch {
      // not this one
    }
  }
  return undefined;
}

function versionAtLeast(v: string, min: string): boolean {
  const [a = 0, b = 0] = v.split('.').map(Number);
  const [c = 0, d = 0] = min.split('.').map(Number);
  return a > c || (a === c && b >= d);
}

function bluezVersionCheck(version: string | undefined): Check {
  const name = 'BlueZ version';
  if (version === undefined) {
    return {
      name,
      ok: false,
      optional: true,
      detail: 'bluetoothd not found on this machine (the bus may be elsewhere)',
      hint: `BlueZ ${MIN_BLUEZ} or later is needed for payloads over 20 bytes`,
    };
  }
  if (versionAtLeast(version, MIN_BLUEZ)) return { name, ok: true, detail: version };
  return {
    name,
    ok: false,
    detail: `${version}: older than ${MIN_BLUEZ}, the link falls back to 20-byte payloads, too small for 4 kHz audio`,
    hint: `upgrade BlueZ to ${MIN_BLUEZ} or later (Debian 12 ships 5.66)`,
  };
}

/** One server the voice configuration sends requests to, and the models it must offer there. */
interface VoiceServer {
  base: string;
  models: string[];
}

/** The servers a voice configuration uses (endpoints.* split them), with their models. */
function voiceServers(v: VoiceConfig): VoiceServer[] {
  const wanted: [string, string][] =
    v.adapter === 'realtime'
      ? [[v.baseUrl, v.models.realtime]]
      : [
          [v.endpoints?.stt ?? v.baseUrl, v.models.stt],
          [v.endpoints?.chat ?? v.baseUrl, v.models.chat],
          [v.endpoints?.tts ?? v.baseUrl, v.models.tts],
        ];
  const servers = new Map<string, VoiceServer>();
  for (const [base, model] of wanted) {
    const key = base.replace(/\/+$/, '');
    const s = servers.get(key) ?? { base: key, models: [] };
    if (!s.models.includes(model)) s.models.push(model);
    servers.set(key, s);
  }
  return [...servers.values()];
}

/** The offline service answers when its programs and the acoustic model are installed. */
function localCheck(env: Record<string, string | undefined>): Check {
  const missing = missingLocalTools(env);
  if (missing.length === 0) {
    return { name: 'voice service', ok: true, detail: 'local (pocketsphinx + espeak-ng, offline)' };
  }
  return {
    name: 'voice service',
    ok: false,
    detail: `local: missing ${missing.map((m) => m.what).join(', ')}`,
    hint: `apt-get install ${missing.map((m) => m.pkg).join(' ')}`,
  };
}

async function voiceCheck(options: DoctorOptions, timeoutMs: number): Promise<Check[]> {
  const v = options.voice;
  if (v.adapter === 'loopback') {
    return [
      {
        name: 'voice service',
        ok: true,
        detail:
          'loopback (plays utterances back; set OPENAI_API_KEY or OPENAI_BASE_URL for a real service, ' +
          'or install pocketsphinx, pocketsphinx-en-us and espeak-ng for the offline one)',
      },
    ];
  }
  if (v.adapter === 'local') return [localCheck(options.env)];
  if (v.adapter === 'doubao') {
    // Its only requests open a dialogue: nothing read-only to ask without using the quota.
    return [
      {
        name: 'voice service',
        ok: true,
        detail: `${v.doubao.url} (doubao, app ${String(v.doubao.appId)}): configured, not probed`,
      },
    ];
  }
  if (v.adapter !== 'rest' && v.adapter !== 'realtime') {
    return [{ name: 'voice service', ok: true, detail: `${v.adapter}: nothing to reach over HTTP` }];
  }
  const checks = await Promise.all(voiceServers(v).map((s) => serverCheck(options, s, timeoutMs)));
  if (v.keyWithheld !== undefined) {
    checks.push({ name: 'voice API key', ok: false, detail: v.keyWithheld, hint: 'see docs/VOICE.md' });
  }
  return checks;
}

/** GET {base}/models: the server answers, takes the key, and lists the models (when it lists any). */
async function serverCheck(options: DoctorOptions, server: VoiceServer, timeoutMs: number): Promise<Check> {
  const v = options.voice;
  const name = `voice service ${server.base}`;

  const f = options.fetchImpl ?? fetch;
  const ctrl = new AbortController();
  const t = setTimeout(() => ctrl.abort(), timeoutMs);
  try {
    const headers: Record<string, string> = {};
    if (v.apiKey && keyGoesTo(v, server.base)) headers.authorization = `Bearer ${v.apiKey.reveal()}`;
    const res = await f(`${server.base}/models`, { headers, signal: ctrl.signal });
    const body = res.ok ? await res.text().catch(() => '') : '';
    if (!res.ok) await res.body?.cancel().catch(() => undefined);
    if (res.status === 401 || res.status === 403) {
      return {
        name,
        ok: false,
        detail: `answers ${res.status} (${v.adapter}): the API key is refused`,
        hint: 'check OPENAI_API_KEY (or voice.apiKey)',
      };
    }
    const offered = modelIds(body);
    if (offered === undefined || offered.length === 0) {
      return {
        name,
        ok: true,
        detail: `answers (HTTP ${res.status}, ${v.adapter}); it lists no models, so ${server.models.join(', ')} not checked`,
      };
    }
    const missing = server.models.filter((m) => !offered.includes(m));
    if (missing.length > 0) {
      const some = offered.slice(0, 8).join(', ') + (offered.length > 8 ? ', …' : '');
      return {
        name,
        ok: false,
        detail: `does not offer ${missing.join(', ')} (it offers: ${some})`,
        hint: 'set voice.models (or BUDLINK_STT_MODEL / BUDLINK_CHAT_MODEL / BUDLINK_TTS_MODEL / BUDLINK_REALTIME_MODEL) to models it offers',
      };
    }
    return { name, ok: true, detail: `answers (${v.adapter}), offers ${server.models.join(', ')}` };
  } catch (e) {
    const msg = ctrl.signal.aborted
      ? `no answer in ${timeoutMs} ms`
      : e instanceof Error
        ? e.cause instanceof Error
          ? e.cause.message
          : e.message
        : String(e);
    return {
      name,
      ok: false,
      detail: `${v.adapter}: ${msg}`,
      hint: 'check OPENAI_BASE_URL (and voice.endpoints) and that the server is running and reachable',
    };
  } finally {
    clearTimeout(t);
  }
}

/** The ids of an OpenAI-style model list ({ data: [{ id }] }), or undefined when it is not one. */
function modelIds(body: string): string[] | undefined {
  try {
    const j = JSON.parse(body) as { data?: unknown };
    if (!Array.isArray(j.data)) return undefined;
    return j.data.flatMap((m: unknown) =>
      typeof m === 'object' && m !== null && typeof (m as { id?: unknown }).id === 'string'
        ? [(m as { id: string }).id]
        : [],
    );
  } catch {
    return undefined;
  }
}

export async function runDoctor(options: DoctorOptions): Promise<Check[]> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const [bus, voice] = await Promise.all([busChecks(options, timeoutMs), voiceCheck(options, timeoutMs)]);
  const user = options.user ?? { uid: process.getuid?.() ?? -1, name: userInfo().username };
  const version = (options.bluezVersion ?? bluetoothdVersion)();
  const checks = [
    ...bus.slice(0, 2),
    bluezVersionCheck(version),
    policyCheck(options.policyFile ?? POLICY_FILE, user),
    ...bus.slice(2),
    ...voice,
  ];
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

const options = { 'write-policy': { type: 'string' } } as const;

export const doctorCommand: Command<typeof options> = {
  summary: 'check BlueZ, D-Bus policy, adapter and voice service',
  usage: `budlink doctor [--write-policy FILE]

Checks that the D-Bus system bus is reachable, BlueZ is on it (version ${MIN_BLUEZ} or later), the D-Bus
policy file node-ble needs exists (${POLICY_FILE}; not needed as root), an adapter is powered, and
every voice server the configuration uses answers, accepts the key and offers the configured models.
Prints ✓ or ✗ per check with a fix hint; exits 1 if any required check fails.

options:
      --write-policy FILE   write a complete D-Bus policy file for the current user to FILE (then
                            install it: sudo cp FILE ${POLICY_FILE} && sudo systemctl reload dbus)`,
  options,
  run: runDoctorCommand,
};

async function runDoctorCommand(a: CommandContext<typeof options>, io: CliIo): Promise<number> {
  const out = a.values['write-policy'];
  if (out !== undefined) {
    const path = resolve(io.cwd, out);
    writeFileSync(path, policyFile(userInfo().username));
    io.stdout(`wrote ${path}; install it: sudo cp ${path} ${POLICY_FILE} && sudo systemctl reload dbus`);
    return 0;
  }
  const checks = await runDoctor({
    env: io.env,
    voice: a.loaded.voice,
    bundlePath: bundlePathFor(SIM_DEFAULTS.board),
  });
  if (a.json) for (const c of checks) io.stdout(JSON.stringify(c));
  else io.stdout(formatChecks(checks));
  return checks.every((c) => c.ok || c.optional) ? 0 : 1;
}
