/**
 * `budlink`: the command-line interface of the host bridge (no CLI framework: node:util parseArgs).
 *
 *   budlink scan | bridge | simulate | doctor | demo   [--help] [--json] [--config FILE] ...
 *
 * Exit codes: 0 ok, 1 the command failed, 2 usage or configuration error, 130 interrupted (Ctrl-C),
 * 143 terminated (SIGTERM); both clean up first.
 * Results go to stdout; logs and progress lines to stderr.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { filter, firstValueFrom, take, timeout, toArray, type Subscription } from 'rxjs';
import { bundlePathFor } from '@budlink/firmware/sim';
import { Bridge } from '../bridge/index';
import { startSimEnv, type SimEnv, type SimTransport } from '../bridge/simenv';
import { LinkError, type DiscoveredDevice, type Link } from '../ble/link';
import { InProcessLink } from '../ble/in-process-link';
import { NodeBleLink } from '../ble/node-ble-link';
import { ConfigError, ENV_KEYS, loadConfig, type BudlinkConfig, type LoadedConfig } from '../config/index';
import { createVoiceService, VOICE_ENV_KEYS } from '../voice/index';
import type { Logger, UtteranceReport } from '../pipeline/types';
import { DEFAULT_UTTERANCE, formatDemoSummary, runDemo } from './demo';
import { formatChecks, runDoctor } from './doctor';
import { createLogger } from './log';
import { bridgeOptions } from './bridge-options';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Aborted on SIGINT (Ctrl-C). */
  signal: AbortSignal;
}

class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

const GLOBAL_OPTIONS: Options = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  config: { type: 'string', short: 'c' },
  'log-level': { type: 'string' },
  link: { type: 'string' },
};

const GLOBAL_HELP = `global options:
  -c, --config FILE     configuration file (default ./budlink.config.json, or $BUDLINK_CONFIG)
      --json            log (stderr) and results (stdout) as JSON lines
      --log-level LVL   debug | info | warn | error (default info)
      --link KIND       auto | node-ble | in-process
  -h, --help            this help`;

interface Command {
  summary: string;
  usage: string;
  options: Options;
  run(args: Parsed, io: CliIo): Promise<number>;
}

interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  loaded: LoadedConfig;
  log: Logger;
  json: boolean;
}

const COMMANDS: Record<string, Command> = {
  scan: {
    summary: 'list Budlink earbuds advertising nearby',
    usage: `budlink scan [--timeout MS] [--name PREFIX]

Scans over BlueZ (node-ble) for devices advertising the Budlink service and prints one per line:
address, RSSI, name.

options:
      --timeout MS      scan duration (default: scanTimeoutMs, 5000)
      --name PREFIX     only names starting with PREFIX`,
    options: { timeout: { type: 'string' }, name: { type: 'string' } },
    run: runScan,
  },
  bridge: {
    summary: 'connect to earbuds and relay them to the voice service (runs until Ctrl-C)',
    usage: `budlink bridge [--device ADDR]... [--name PREFIX]

Connects to the configured earbuds (config "devices", $BUDLINK_DEVICES or --device; none: every
Budlink earbud a scan finds), reconnects on loss, and relays each utterance to the voice service
configured in the environment (OPENAI_API_KEY / OPENAI_BASE_URL / BUDLINK_VOICE; default loopback).

options:
      --device ADDR     earbud address (repeatable)
      --name PREFIX     when scanning, only names starting with PREFIX`,
    options: { device: { type: 'string', multiple: true }, name: { type: 'string' } },
    run: runBridgeCommand,
  },
  simulate: {
    summary: 'run simulated earbuds (real firmware bundle) against the bridge',
    usage: `budlink simulate [--board ID] [--earbuds N] [--wav FILE]... [--scenario FILE]
                 [--transport auto|bluez|in-process] [--speed X] [--drop-rate P]

Boots simulated earbuds running the built firmware bundle, behind the BlueZ emulator on a private
D-Bus (when dbus-daemon is installed) or the in-process link, has each speak the given WAV files in
turn (default: the bundled utterance), relays them through the bridge and prints one report per
utterance.

options:
      --board ID        board profile (default nrf52840dk)
      --earbuds N       number of earbuds (default 1)
      --wav FILE        audio to speak (repeatable)
      --scenario FILE   JSON: { "steps": [ {"say": "a.wav", "earbud": 0}, {"tap": 0}, {"silence": 500},
                        {"wait": 1000}, {"dropLink": 0}, {"powerCycle": 0} ] }
      --transport T     auto (default) | bluez | in-process
      --speed X         device clock acceleration (default 4)
      --drop-rate P     fraction of notifications the link model drops (default 0)`,
    options: {
      board: { type: 'string' },
      earbuds: { type: 'string' },
      wav: { type: 'string', multiple: true },
      scenario: { type: 'string' },
      transport: { type: 'string' },
      speed: { type: 'string' },
      'drop-rate': { type: 'string' },
    },
    run: runSimulate,
  },
  doctor: {
    summary: 'check BlueZ, D-Bus policy, adapter and voice service',
    usage: `budlink doctor

Checks that the D-Bus system bus is reachable, BlueZ is on it, the D-Bus policy file node-ble needs
exists (/etc/dbus-1/system.d/node-ble.conf), an adapter is powered, and the voice service answers.
Prints ✓ or ✗ per check with a fix hint; exits 1 if any required check fails.`,
    options: {},
    run: runDoctorCommand,
  },
  demo: {
    summary: 'the main job (npm start): one simulated earbud, the bridge, the voice service',
    usage: `budlink demo [--transport auto|bluez|in-process] [--speed X] [--board ID] [--wav FILE] [--timeout MS]

Runs the bridge with one simulated earbud that speaks a bundled utterance through the real firmware
bundle; the utterance is gated and relayed to the voice service configured in the environment, or
else to the loopback service (plays the utterance back). Prints a summary with per-stage timings.
With dbus-daemon installed the link is node-ble → BlueZ emulator on a private bus (started and
stopped by the demo); else the in-process link.

options:
      --transport T     auto (default) | bluez | in-process
      --speed X         device clock acceleration (default 4)
      --board ID        board profile (default nrf52840dk)
      --wav FILE        utterance to speak (default host/assets/utterance-8k.wav)
      --timeout MS      give up after MS (default 60000)`,
    options: {
      transport: { type: 'string' },
      speed: { type: 'string' },
      board: { type: 'string' },
      wav: { type: 'string' },
      timeout: { type: 'string' },
    },
    run: runDemoCommand,
  },
};

function topHelp(): string {
  const names = Object.keys(COMMANDS);
  const w = Math.max(...names.map((n) => n.length));
  const envs = [...Object.entries(ENV_KEYS).map(([k, v]) => `  ${k.padEnd(28)} ${v.doc}`)];
  return `budlink: the Budlink host bridge (AI earbuds over BLE)

usage: budlink <command> [options]

commands:
${names.map((n) => `  ${n.padEnd(w)}  ${COMMANDS[n]?.summary ?? ''}`).join('\n')}

Run 'budlink <command> --help' for a command's options.

${GLOBAL_HELP}

environment:
  BUDLINK_CONFIG               configuration file
${envs.join('\n')}
  voice service: ${Object.keys(VOICE_ENV_KEYS).join(', ')}

exit codes: 0 ok, 1 failed, 2 usage or configuration error, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM)`;
}

function num(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a number between ${min} and ${max}, got '${String(v)}'`);
  }
  return n;
}

function transportOf(v: unknown): SimTransport | undefined {
  if (v === undefined) return undefined;
  if (v === 'auto' || v === 'bluez' || v === 'in-process') return v;
  throw new UsageError(`--transport must be auto, bluez or in-process, got '${String(v)}'`);
}

/** A progress / status line on stderr (JSON when --json). */
function progress(io: CliIo, json: boolean): (line: string) => void {
  return (line) =>
    io.stderr(
      json ? JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: line }) : `… ${line}`,
    );
}

function realLink(config: BudlinkConfig, env: Record<string, string | undefined>): Link {
  if (config.link === 'in-process') {
    throw new UsageError(
      "link 'in-process' has no real earbuds: use `budlink simulate` (or set link to auto / node-ble)",
    );
  }
  return new NodeBleLink({
    connectTimeoutMs: config.connectTimeoutMs,
    busAddress: env.DBUS_SYSTEM_BUS_ADDRESS,
  });
}

function waitAbort(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

// ---- scan -------------------------------------------------------------------------------------

async function runScan(a: Parsed, io: CliIo): Promise<number> {
  const config = a.loaded.config;
  const timeoutMs = num(a.values.timeout, 'timeout', 100, 600000) ?? config.scanTimeoutMs;
  const namePrefix = (a.values.name as string | undefined) ?? (config.namePrefix || undefined);
  const link = realLink(config, io.env);
  const say = progress(io, a.json);
  say(`scanning for ${(timeoutMs / 1000).toFixed(1)} s`);
  const found: DiscoveredDevice[] = [];
  let sub: Subscription | undefined;
  try {
    await new Promise<void>((resolveScan, reject) => {
      sub = link.scan({ timeoutMs, namePrefix }).subscribe({
        next: (d) => {
          if (found.some((f) => f.id === d.id)) return;
          found.push(d);
          io.stdout(
            a.json
              ? JSON.stringify(d)
              : `${d.address}  ${d.rssi === undefined ? '   ?' : String(d.rssi).padStart(4)} dBm  ${d.name}`,
          );
        },
        error: reject,
        complete: resolveScan,
      });
      io.signal.addEventListener('abort', () => resolveScan(), { once: true });
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    a.log.log(
      'error',
      `scan failed: ${msg}${e instanceof LinkError && e.kind === 'bluez-unavailable' ? ' (run `budlink doctor`)' : ''}`,
    );
    return 1;
  } finally {
    sub?.unsubscribe();
    await link.close().catch(() => undefined);
  }
  if (io.signal.aborted) return 130;
  if (!a.json) say(found.length === 0 ? 'no Budlink earbuds found' : `${found.length} earbud(s) found`);
  return 0;
}

// ---- bridge -----------------------------------------------------------------------------------

async function runBridgeCommand(a: Parsed, io: CliIo): Promise<number> {
  const config = a.loaded.config;
  const link = realLink(config, io.env);
  const voice = createVoiceService(a.loaded.voice);
  const bridge = new Bridge({ link, voice, logger: a.log, ...bridgeOptions(config) });
  const say = progress(io, a.json);
  say(`bridge up: voice service ${voice.name}; Ctrl-C to stop`);
  const devices = config.devices;
  for (const d of devices) bridge.addDevice(d.toUpperCase());
  let scanSub: Subscription | undefined;
  let scanTimer: NodeJS.Timeout | undefined;
  const scan = (): void => {
    if (io.signal.aborted) return;
    say('scanning for earbuds');
    scanSub = link
      .scan({ timeoutMs: config.scanTimeoutMs, namePrefix: config.namePrefix || undefined })
      .subscribe({
        next: (d) => {
          if (!bridge.status().some((s) => s.deviceId === d.id)) {
            say(`found ${d.name} (${d.address})`);
            bridge.addDevice(d.id);
          }
        },
        error: (e: unknown) => {
          a.log.log(
            'warn',
            `scan failed: ${e instanceof Error ? e.message : String(e)} (run \`budlink doctor\`); retrying`,
          );
          scanTimer = setTimeout(scan, config.scanTimeoutMs);
        },
        complete: () => {
          if (bridge.status().length === 0) scanTimer = setTimeout(scan, 1000);
        },
      });
  };
  if (devices.length === 0) scan();
  const statusTimer = setInterval(() => {
    for (const s of bridge.status()) {
      say(
        `${s.deviceId}: ${s.connected ? s.phase : 'disconnected'}, ${s.utterances} utterance(s)${s.metrics?.battery !== undefined ? `, battery ${s.metrics.battery}%` : ''}`,
      );
    }
  }, 60000);
  await waitAbort(io.signal);
  clearInterval(statusTimer);
  if (scanTimer) clearTimeout(scanTimer);
  scanSub?.unsubscribe();
  say('stopping: disconnecting earbuds');
  await bridge.stop();
  await link.close().catch(() => undefined);
  await voice.close().catch(() => undefined);
  return 130;
}

// ---- simulate ---------------------------------------------------------------------------------

type Step =
  | { say: string; earbud?: number }
  | { tap: number }
  | { silence: number; earbud?: number }
  | { wait: number }
  | { dropLink: number }
  | { powerCycle: number };

function readScenario(path: string, cwd: string): Step[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(resolve(cwd, path), 'utf8'));
  } catch (e) {
    throw new UsageError(`scenario ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const steps = (parsed as { steps?: unknown }).steps;
  if (!Array.isArray(steps)) throw new UsageError(`scenario ${path}: expected { "steps": [...] }`);
  const kinds = ['say', 'tap', 'silence', 'wait', 'dropLink', 'powerCycle'];
  steps.forEach((s: unknown, i) => {
    const keys = typeof s === 'object' && s !== null ? Object.keys(s) : [];
    const kind = keys.find((k) => kinds.includes(k));
    const extra = keys.filter((k) => k !== kind && k !== 'earbud');
    if (!kind || extra.length > 0) {
      throw new UsageError(
        `scenario ${path}: step ${i} must have one of ${kinds.join(', ')}${extra.length ? ` (unknown: ${extra.join(', ')})` : ''}`,
      );
    }
  });
  return steps as Step[];
}

async function runSimulate(a: Parsed, io: CliIo): Promise<number> {
  const config = a.loaded.config;
  const board = (a.values.board as string | undefined) ?? 'nrf52840dk';
  const count = num(a.values.earbuds, 'earbuds', 1, 8) ?? 1;
  const speed = num(a.values.speed, 'speed', 0.1, 50) ?? 4;
  const dropRate = num(a.values['drop-rate'], 'drop-rate', 0, 0.9) ?? 0;
  const transport = transportOf(a.values.transport) ?? (config.link === 'in-process' ? 'in-process' : 'auto');
  const wavs = (a.values.wav as string[] | undefined) ?? [];
  for (const w of wavs) if (!existsSync(resolve(io.cwd, w))) throw new UsageError(`--wav ${w}: no such file`);
  const steps: Step[] = a.values.scenario
    ? readScenario(a.values.scenario as string, io.cwd)
    : (wavs.length ? wavs : [DEFAULT_UTTERANCE]).flatMap((w) =>
        Array.from({ length: count }, (_, i) => ({ say: resolve(io.cwd, w), earbud: i }) as Step),
      );
  const say = progress(io, a.json);
  const voice = createVoiceService(a.loaded.voice);
  let env: SimEnv | undefined;
  let bridge: Bridge | undefined;
  try {
    say(`starting ${count} simulated ${board} earbud(s), device clock ×${speed}`);
    env = await startSimEnv({
      earbuds: Array.from({ length: count }, (_, i) => ({
        board,
        clock: 'real' as const,
        speed,
        link: { dropRate, seed: i + 1 },
      })),
      transport,
      connectTimeoutMs: config.connectTimeoutMs,
    });
    say(
      env.transport === 'bluez' ? 'link: node-ble → BlueZ emulator on a private D-Bus' : 'link: in-process',
    );
    bridge = new Bridge({ link: env.link, voice, logger: a.log, ...bridgeOptions(config) });
    const hellos = firstValueFrom(
      bridge.events$.pipe(
        filter((e) => e.kind === 'hello'),
        take(count),
        toArray(),
        timeout({ first: 30000 }),
      ),
    );
    for (const e of env.earbuds) bridge.addDevice(e.address);
    hellos.catch(() => undefined);
    await Promise.race([hellos, waitAbort(io.signal)]);
    if (io.signal.aborted) return 130;
    const reports: UtteranceReport[] = [];
    bridge.events$.subscribe((e) => {
      if (e.kind === 'utterance') {
        reports.push(e.report);
        const r = e.report;
        io.stdout(
          a.json
            ? JSON.stringify(r)
            : `${r.deviceId} utterance ${r.stream}: ${r.outcome}${r.error ? ` (${r.error})` : ''}, ${(r.durationMs / 1000).toFixed(2)} s, ${r.recovered} recovered, reply ${r.replySamples} samples, first PLAY ${r.timings.firstPlay?.toFixed(0) ?? '-'} ms after wake`,
        );
      }
    });
    for (const e of env.earbuds) e.feedSilence(600);
    const earbudOf = (i: number | undefined) => {
      const e = env?.earbuds[i ?? 0];
      if (!e) throw new UsageError(`scenario: no earbud ${String(i)}`);
      return e;
    };
    const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
    let expected = 0;
    for (const step of steps) {
      if (io.signal.aborted) break;
      if ('say' in step) {
        const e = earbudOf(step.earbud);
        const ms = e.feedWav(resolve(io.cwd, step.say));
        e.feedSilence(2000);
        expected++;
        say(`earbud ${step.earbud ?? 0} says ${step.say} (${(ms / 1000).toFixed(1)} s)`);
        // Wait until that earbud's utterance is reported before the next step (several earbuds speak at once).
        if (count === 1 || (step.earbud ?? 0) === count - 1) {
          const deadline = Date.now() + 60000;
          while (reports.length < expected && Date.now() < deadline && !io.signal.aborted) await sleep(50);
        }
      } else if ('tap' in step) earbudOf(step.tap).pressButton(100);
      else if ('silence' in step) earbudOf(step.earbud).feedSilence(step.silence);
      else if ('wait' in step) await sleep(step.wait);
      else if ('dropLink' in step) {
        const e = earbudOf(step.dropLink);
        if (env.emulator) env.emulator.dropLink(e.address);
        else {
          // In-process: the earbud goes out of range for a moment, then comes back.
          const link = env.link as InProcessLink;
          link.removePeripheral(e.address);
          setTimeout(() => link.addPeripheral(e), 200);
        }
      } else if ('powerCycle' in step) earbudOf(step.powerCycle).powerCycle();
    }
    const deadline = Date.now() + 60000;
    while (reports.length < expected && Date.now() < deadline && !io.signal.aborted) await sleep(50);
    if (io.signal.aborted) return 130;
    const ok = reports.filter((r) => r.outcome === 'complete').length;
    say(`${ok} of ${expected} utterance(s) answered`);
    return ok >= expected && expected > 0 ? 0 : 1;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    a.log.log('error', `simulate failed: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    say('stopping');
    await bridge?.stop();
    await env?.close();
    await voice.close().catch(() => undefined);
  }
}

// ---- doctor -----------------------------------------------------------------------------------

async function runDoctorCommand(a: Parsed, io: CliIo): Promise<number> {
  const checks = await runDoctor({
    env: io.env,
    voice: a.loaded.voice,
    bundlePath: bundlePathFor('nrf52840dk'),
  });
  if (a.json) for (const c of checks) io.stdout(JSON.stringify(c));
  else io.stdout(formatChecks(checks));
  return checks.every((c) => c.ok || c.optional) ? 0 : 1;
}

// ---- demo -------------------------------------------------------------------------------------

async function runDemoCommand(a: Parsed, io: CliIo): Promise<number> {
  const wav = a.values.wav as string | undefined;
  if (wav !== undefined && !existsSync(resolve(io.cwd, wav)))
    throw new UsageError(`--wav ${wav}: no such file`);
  const r = await runDemo({
    config: a.loaded.config,
    voice: a.loaded.voice,
    logger: a.log,
    transport:
      transportOf(a.values.transport) ?? (a.loaded.config.link === 'in-process' ? 'in-process' : 'auto'),
    speed: num(a.values.speed, 'speed', 0.1, 50),
    board: a.values.board as string | undefined,
    wav: wav === undefined ? undefined : resolve(io.cwd, wav),
    timeoutMs: num(a.values.timeout, 'timeout', 1000, 600000),
    progress: progress(io, a.json),
    signal: io.signal,
  });
  if (io.signal.aborted) return 130;
  io.stdout(a.json ? JSON.stringify(r) : formatDemoSummary(r));
  return r.ok ? 0 : 1;
}

// ---- entry ------------------------------------------------------------------------------------

export async function main(argv: string[], partial: Partial<CliIo> = {}): Promise<number> {
  const io: CliIo = {
    stdout: partial.stdout ?? ((t) => void process.stdout.write(t + '\n')),
    stderr: partial.stderr ?? ((t) => void process.stderr.write(t + '\n')),
    env: partial.env ?? process.env,
    cwd: partial.cwd ?? process.cwd(),
    signal: partial.signal ?? new AbortController().signal,
  };
  const name = argv[0];
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const sub = name === 'help' ? argv[1] : undefined;
    const cmd = sub ? COMMANDS[sub] : undefined;
    io.stdout(cmd ? `${cmd.usage}\n\n${GLOBAL_HELP}` : topHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.stdout('budlink 0.1.0');
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    const known = Object.keys(COMMANDS);
    const near = known.find((k) => k.startsWith(name.slice(0, 2)));
    io.stderr(
      `budlink: unknown command '${name}'${near ? ` (did you mean '${near}'?)` : ''}; see budlink --help`,
    );
    return 2;
  }
  let parsed: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv.slice(1),
      options: { ...GLOBAL_OPTIONS, ...cmd.options },
      strict: true,
      allowPositionals: false,
    }) as typeof parsed;
  } catch (e) {
    io.stderr(`budlink ${name}: ${e instanceof Error ? e.message : String(e)}\nsee budlink ${name} --help`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) {
    io.stdout(`${cmd.usage}\n\n${GLOBAL_HELP}`);
    return 0;
  }
  let loaded: LoadedConfig;
  try {
    const overrides: Record<string, unknown> = {};
    if (v.link !== undefined) overrides.link = v.link;
    if (v.json) overrides.log = { json: true };
    if (v['log-level'] !== undefined) overrides.log = { ...(overrides.log as object), level: v['log-level'] };
    if (Array.isArray(v.device)) overrides.devices = v.device;
    if (typeof v.name === 'string') overrides.namePrefix = v.name;
    loaded = loadConfig({ path: v.config as string | undefined, env: io.env, cwd: io.cwd, overrides });
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr(e.message);
      return 2;
    }
    throw e;
  }
  const json = loaded.config.log.json;
  const log = createLogger({ level: loaded.config.log.level, json, write: io.stderr });
  try {
    return await cmd.run({ values: v, positionals: parsed.positionals, loaded, log, json }, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`budlink ${name}: ${e.message}`);
      return 2;
    }
    log.log('error', `budlink ${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 1;
  }
}

/** Run as a program: wire SIGINT to a clean stop and exit with the command's code. */
export async function runCli(argv: string[]): Promise<never> {
  const ctrl = new AbortController();
  let interrupts = 0;
  let exitCode = 130;
  const stop = (signal: 'SIGINT' | 'SIGTERM'): void => {
    interrupts++;
    if (interrupts > 1) process.exit(exitCode);
    // SIGTERM (kill, timeout, systemd) cleans up the same way: no orphaned dbus-daemon / earbuds.
    exitCode = signal === 'SIGINT' ? 130 : 143;
    process.stderr.write(
      `\n… ${signal === 'SIGINT' ? 'interrupted' : 'terminated'}: cleaning up (again to force)\n`,
    );
    ctrl.abort();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const code = await main(argv, { signal: ctrl.signal });
  process.exit(ctrl.signal.aborted ? exitCode : code);
}

// Started directly (`tsx host/src/cli/main.ts`, npm start).
const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(resolve(entry)).href) {
  void runCli(process.argv.slice(2));
}
