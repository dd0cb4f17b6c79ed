/**
 * `budlink simulate`: simulated earbuds (the real firmware bundle) against the bridge; with `--serve`,
 * behind the BlueZ emulator for a central started elsewhere (`budlink bridge`, node-ble).
 */
import { basename, resolve } from 'node:path';
import {
  BehaviorSubject,
  filter,
  firstValueFrom,
  fromEvent,
  race,
  take,
  timeout,
  timer,
  toArray,
} from 'rxjs';
import { createEarbud, type EarbudOptions } from '@budlink/sim';
import { Bridge } from '../bridge/index';
import { startSimEnv, type SimEarbud, type SimEnv, type SimTransport } from '../bridge/simenv';
import { InProcessLink } from '@budlink/link';
import { LINK_DEFAULTS, SIM_DEFAULTS } from '../defaults';
import type { UtteranceReport } from '../pipeline/types';
import { createVoiceService } from '../voice/index';
import { bridgeOptions } from './bridge-options';
import { num, simTransport, type Command, type CommandContext, boardOf, int, speakableWav } from './command';
import { DEFAULT_UTTERANCE } from './demo';
import { UsageError, progress, waitAbort, type CliIo } from './io';
import { readScenario, runScenario, sayEach, type ScenarioTarget, type Step } from './scenario';
import { judgeRun } from './verdict';
import { endReasonName, reportForJson, triggerName } from '../pipeline/report-names';

const options = {
  board: { type: 'string' },
  earbuds: { type: 'string' },
  wav: { type: 'string', multiple: true },
  scenario: { type: 'string' },
  transport: { type: 'string' },
  speed: { type: 'string' },
  'drop-rate': { type: 'string' },
  engine: { type: 'string' },
  'cpu-speed': { type: 'string' },
  serve: { type: 'boolean' },
} as const;

export const simulateCommand: Command<typeof options> = {
  summary: 'run simulated earbuds (real firmware bundle) against the bridge',
  usage: `budlink simulate [--board ID] [--earbuds N] [--wav FILE]... [--scenario FILE]
                 [--engine vm|espruino] [--transport auto|bluez|in-process] [--speed X] [--drop-rate P]
                 [--cpu-speed X] [--serve]

Boots simulated earbuds running the built firmware bundle, behind the BlueZ emulator on a private
D-Bus (when dbus-daemon is installed) or the in-process link, has each speak the given WAV files in
turn (default: the bundled utterance), relays them through the bridge and prints one report per
utterance. The earbuds run on the in-process simulator (vm, default) or on the real Espruino
interpreter built for this machine (espruino: docs/ESPRUINO-ENGINE.md; first use builds it).
With --serve there is no bridge: the earbuds wait behind the BlueZ emulator on a private D-Bus, whose
address is printed (DBUS_SYSTEM_BUS_ADDRESS=...), for a central started elsewhere, until Ctrl-C.

options:
      --board ID        board profile (default ${SIM_DEFAULTS.board})
      --earbuds N       number of earbuds (default 1)
      --wav FILE        audio to speak (repeatable)
      --scenario FILE   JSON: { "steps": [ {"say": "a.wav", "earbud": 0}, {"tap": 0}, {"silence": 500},
                        {"wait": 1000}, {"dropLink": 0}, {"powerCycle": 0} ] }
      --engine E        vm (default: Budlink's simulator, modelled CPU and memory) | espruino (the
                        real interpreter, deployed as on a device, on the wall clock)
      --transport T     auto (default) | bluez | in-process
      --speed X         device clock acceleration (default ${SIM_DEFAULTS.speed}; espruino: 1)
      --drop-rate P     fraction of notifications the link model drops (default 0)
      --cpu-speed X     vm: the earbud's CPU relative to a 64 MHz nRF52 as calibrated against the real
                        interpreter (default 1; at 1 the 4 kHz boards barely keep up while streaming,
                        see docs/FIRMWARE.md "CPU budget"; 10 tests the bridge with an earbud that
                        always keeps up)
      --serve           no bridge, no audio: serve the earbuds over the BlueZ emulator until Ctrl-C
                        (device clock ×1 unless --speed)`,
  options,
  run: runSimulate,
};

/** Deadline for every earbud's HELLO, and for each utterance's report (ms). */
const HELLO_TIMEOUT_MS = 30000;
const REPLY_TIMEOUT_MS = 60000;

async function runSimulate(a: CommandContext<typeof options>, io: CliIo): Promise<number> {
  const config = a.loaded.config;
  const v = a.values;
  const board = boardOf(v.board, SIM_DEFAULTS.board, !v.serve);
  const count = int(v.earbuds, 'earbuds', 1, 8) ?? 1;
  const engine = v.engine ?? 'vm';
  if (engine !== 'vm' && engine !== 'espruino')
    throw new UsageError(`--engine must be vm or espruino, got '${engine}'`);
  // the real interpreter runs on the wall clock: its device clock cannot be sped up
  const speed = num(v.speed, 'speed', 0.1, 50) ?? (engine === 'espruino' || v.serve ? 1 : SIM_DEFAULTS.speed);
  if (engine === 'espruino' && speed !== 1) throw new UsageError('--engine espruino runs at --speed 1 only');
  const dropRate = num(v['drop-rate'], 'drop-rate', 0, 0.9) ?? 0;
  const cpuSpeed = num(v['cpu-speed'], 'cpu-speed', 0.1, 100) ?? 1;
  if (engine === 'espruino' && v['cpu-speed'] !== undefined)
    throw new UsageError('--cpu-speed is for the vm engine (the real interpreter runs on this machine)');
  const transport = simTransport(v.transport, config);
  const say = progress(io, a.json);
  const earbud = (i: number): EarbudOptions => {
    const link = { dropRate, seed: i + 1 };
    return engine === 'espruino'
      ? { engine, board, link }
      : { engine, board, clock: 'real', speed, cpuSpeed, link };
  };
  const start = (t: SimTransport): Promise<SimEnv<SimEarbud>> =>
    startSimEnv({
      earbuds: Array.from({ length: count }, (_, i) => earbud(i)),
      create: createEarbud,
      bootedOn: engine === 'espruino' ? 'the Espruino interpreter' : undefined,
      transport: t,
      connectTimeoutMs: config.connectTimeoutMs,
      onStep: say,
    });
  if (v.serve) {
    if (v.wav !== undefined || v.scenario !== undefined)
      throw new UsageError(
        '--serve takes no --wav or --scenario: the central that connects drives the earbuds',
      );
    if (transport === 'in-process')
      throw new UsageError('--serve needs the BlueZ emulator (--transport bluez)');
    return serveEarbuds(() => start('bluez'), a.json, io, say);
  }
  const wavs = v.wav ?? [];
  const steps = v.scenario
    ? readScenario(v.scenario, io.cwd)
    : sayEach(wavs.length ? wavs : [DEFAULT_UTTERANCE], count);
  // Each WAV is checked once, before anything boots; its speech length judges the reports later.
  const speechMs = new Map<string, number>();
  for (const step of steps) {
    if ('say' in step && !speechMs.has(resolve(io.cwd, step.say))) {
      const label = v.scenario ? `scenario ${v.scenario}: say ${step.say}` : `--wav ${step.say}`;
      const wav = speakableWav(step.say, io.cwd, label);
      speechMs.set(wav.path, wav.speechMs);
    }
    const i = earbudOf(step);
    if (i !== undefined && !(Number.isInteger(i) && i >= 0 && i < count))
      throw new UsageError(`scenario ${v.scenario}: no earbud ${String(i)} (there are ${count})`);
  }
  const voice = createVoiceService(a.loaded.voice);
  let env: SimEnv<SimEarbud> | undefined;
  let bridge: Bridge | undefined;
  try {
    say(
      engine === 'espruino'
        ? `starting ${count} ${board} earbud(s) on the Espruino interpreter`
        : `starting ${count} simulated ${board} earbud(s), device clock ×${speed}`,
    );
    env = await start(transport);
    say(
      env.transport === 'bluez' ? 'link: node-ble → BlueZ emulator on a private D-Bus' : 'link: in-process',
    );
    bridge = new Bridge({ link: env.link, voice, logger: a.log, ...bridgeOptions(config) });
    const hellos = firstValueFrom(
      bridge.events$.pipe(
        filter((e) => e.kind === 'hello'),
        take(count),
        toArray(),
        timeout({ first: HELLO_TIMEOUT_MS }),
      ),
    );
    for (const e of env.earbuds) bridge.addDevice(e.address);
    hellos.catch(() => undefined);
    await Promise.race([hellos, waitAbort(io.signal)]);
    if (io.signal.aborted) return 130;
    const target = simTarget(env, bridge, io.signal, (r) =>
      io.stdout(
        a.json
          ? JSON.stringify(reportForJson(r))
          : `${r.deviceId} utterance ${r.stream}: ${r.outcome}${r.error ? ` (${r.error})` : ''}, ${(r.durationMs / 1000).toFixed(2)} s, ${triggerName(r.trigger) ?? 'no WAKE'} to ${endReasonName(r.endReason) ?? 'no END'}, ${r.recovered} recovered, reply ${r.replySamples} samples, first PLAY ${r.timings.firstPlay?.toFixed(0) ?? '-'} ms after wake`,
      ),
    );
    for (const e of env.earbuds) e.feedSilence(600);
    const spoken = await runScenario(steps, target, { say, signal: io.signal, cwd: io.cwd });
    await target.reported(spoken.length, REPLY_TIMEOUT_MS);
    if (io.signal.aborted) return 130;
    const byEarbud = env.earbuds.map((e) => target.reports.filter((r) => r.deviceId === e.address));
    const verdict = judgeRun(spoken, byEarbud, (path) => speechMs.get(path) ?? 0);
    for (const j of verdict.judged) {
      if (!j.answered)
        say(`earbud ${j.spoken.earbud} ${basename(j.spoken.path)}: not answered (${j.why ?? ''})`);
    }
    for (const line of verdict.extra) say(`${line} (an utterance was split or heard twice)`);
    say(`${verdict.answered} of ${spoken.length} utterance(s) answered`);
    return verdict.ok ? 0 : 1;
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

/**
 * `--serve`: the earbuds behind the BlueZ emulator on a private D-Bus and nothing else; prints the bus
 * address and each earbud (address, name, the ATT MTU it settles on) and waits for Ctrl-C.
 */
async function serveEarbuds(
  start: () => Promise<SimEnv<SimEarbud>>,
  json: boolean,
  io: CliIo,
  say: (line: string) => void,
): Promise<number> {
  const env = await start();
  try {
    const bus = env.bus?.address ?? '';
    const earbuds = env.earbuds.map((e) => ({
      address: e.address,
      name: e.name,
      mtu: Math.min(LINK_DEFAULTS.mtu, e.maxMtu),
    }));
    if (json) io.stdout(JSON.stringify({ busAddress: bus, earbuds }));
    else {
      io.stdout(`DBUS_SYSTEM_BUS_ADDRESS=${bus}`);
      for (const e of earbuds) io.stdout(`  ${e.address}  ${e.name}  (ATT MTU ${String(e.mtu)})`);
    }
    say('serving until Ctrl-C: point `budlink bridge` or node-ble at DBUS_SYSTEM_BUS_ADDRESS');
    await waitAbort(io.signal);
    return 130;
  } finally {
    say('stopping');
    await env.close();
  }
}

/**
 * The simulated earbuds as a scenario acts on them; every utterance report goes to `print`. A wait
 * for reports ends when they are in, at its deadline, or on Ctrl-C.
 */
function simTarget(
  env: SimEnv<SimEarbud>,
  bridge: Bridge,
  signal: AbortSignal,
  print: (r: UtteranceReport) => void,
): ScenarioTarget & { reports: UtteranceReport[] } {
  const reports: UtteranceReport[] = [];
  const count$ = new BehaviorSubject(0);
  bridge.events$.subscribe((e) => {
    if (e.kind !== 'utterance') return;
    reports.push(e.report);
    print(e.report);
    count$.next(reports.length);
  });
  return {
    reports,
    earbuds: env.earbuds,
    dropLink: (i) => {
      const e = env.earbuds[i];
      if (!e) return;
      const link = env.link;
      if (env.emulator) env.emulator.dropLink(e.address);
      else if (link instanceof InProcessLink) {
        // In-process: the earbud goes out of range for a moment, then comes back.
        link.removePeripheral(e.address);
        setTimeout(() => link.addPeripheral(e), 200);
      }
    },
    reported: (n, timeoutMs) =>
      signal.aborted
        ? Promise.resolve()
        : firstValueFrom(
            race(count$.pipe(filter((c) => c >= n)), timer(timeoutMs), fromEvent(signal, 'abort')),
            {
              defaultValue: undefined,
            },
          ).then(() => undefined),
  };
}

/** The earbud a scenario step acts on (undefined: none, a wait). */
function earbudOf(step: Step): number | undefined {
  if ('say' in step || 'silence' in step) return step.earbud ?? 0;
  if ('tap' in step) return step.tap;
  if ('dropLink' in step) return step.dropLink;
  if ('powerCycle' in step) return step.powerCycle;
  return undefined;
}
