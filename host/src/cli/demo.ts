/**
 * `budlink demo` (the main job, `npm start`): one simulated earbud running the real firmware bundle
 * speaks a bundled utterance; the bridge receives it (node-ble + BlueZ emulator on a private bus when
 * dbus-daemon is installed, else the in-process link), gates it, relays it to the configured voice
 * service (by default the offline local service when its programs are installed, else the loopback
 * service, which plays the utterance back) and streams the reply to the earbud's speaker. Prints a
 * summary with per-stage timings.
 */
import { fileURLToPath } from 'node:url';
import { firstValueFrom, filter, timeout, take } from 'rxjs';
import { createEarbud, type Earbud } from '@budlink/sim';
import { Bridge } from '../bridge/index';
import { startSimEnv, type SimEnv, type SimTransport } from '../bridge/simenv';
import type { BudlinkConfig } from '../config/index';
import { createVoiceService, type VoiceConfig, type VoiceService } from '../voice/index';
import type { Logger, UtteranceReport } from '../pipeline/types';
import { bridgeOptions } from './bridge-options';
import { endReasonName, reportForJson, triggerName } from '../pipeline/report-names';
import { SIM_DEFAULTS } from '../defaults';
import { num, simTransport, type Command, type CommandContext, boardOf, int, speakableWav } from './command';
import { progress, type CliIo } from './io';

export const DEFAULT_UTTERANCE = fileURLToPath(new URL('../../assets/utterance-8k.wav', import.meta.url));

export interface DemoOptions {
  config: BudlinkConfig;
  voice: VoiceConfig;
  logger: Logger;
  transport?: SimTransport;
  board?: string;
  wav?: string;
  /** Device clock acceleration (default 4). */
  speed?: number;
  /** Overall deadline in ms (default 60000). */
  timeoutMs?: number;
  /** Progress lines (status of long work). */
  progress?: (line: string) => void;
  /** Stop early (Ctrl-C): resolves the demo with an 'interrupted' outcome. */
  signal?: AbortSignal;
  /** Use this service instead of creating one from `voice` (tests). */
  service?: VoiceService;
}

export interface DemoResult {
  ok: boolean;
  transport: 'bluez' | 'in-process';
  board: string;
  voiceService: string;
  speed: number;
  utteranceMs: number;
  report?: UtteranceReport;
  /** Reply samples that reached the earbud's speaker (non-silent). */
  speakerSamples: number;
  error?: string;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const board = options.board ?? SIM_DEFAULTS.board;
  const speed = options.speed ?? SIM_DEFAULTS.speed;
  const progress = options.progress ?? (() => undefined);
  const log = options.logger;
  const service = options.service ?? createVoiceService(options.voice);
  let env: SimEnv<Earbud> | undefined;
  let bridge: Bridge | undefined;
  const result: DemoResult = {
    ok: false,
    transport: 'in-process',
    board,
    voiceService: service.name,
    speed,
    utteranceMs: 0,
    speakerSamples: 0,
  };
  try {
    progress(`starting a simulated ${board} earbud (device clock ×${speed})`);
    env = await startSimEnv({
      earbuds: [{ engine: 'vm', board, clock: 'real', speed }],
      create: createEarbud,
      transport: options.transport ?? 'auto',
      connectTimeoutMs: options.config.connectTimeoutMs,
      onStep: progress,
    });
    result.transport = env.transport;
    const earbud = env.earbuds[0];
    if (!earbud) throw new Error('no earbud');
    progress(
      env.transport === 'bluez'
        ? 'link: node-ble → BlueZ emulator on a private D-Bus'
        : 'link: in-process (no dbus-daemon)',
    );
    bridge = new Bridge({
      link: env.link,
      voice: service,
      logger: log,
      ...bridgeOptions(options.config),
    });
    const deadline = options.timeoutMs ?? 60000;
    const hello = firstValueFrom(
      bridge.events$.pipe(
        filter((e) => e.kind === 'hello'),
        take(1),
        timeout({ first: Math.min(deadline, 20000) }),
      ),
    );
    const aborted = new Promise<'interrupted'>((resolve) => {
      if (options.signal?.aborted) resolve('interrupted');
      options.signal?.addEventListener('abort', () => resolve('interrupted'));
    });
    bridge.addDevice(earbud.address);
    progress(`connecting to ${earbud.name} (${earbud.address})`);
    hello.catch(() => undefined);
    if ((await Promise.race([hello, aborted])) === 'interrupted') {
      result.error = 'interrupted';
      return result;
    }
    const report = firstValueFrom(
      bridge.events$.pipe(
        filter((e) => e.kind === 'utterance'),
        take(1),
        timeout({ first: deadline }),
      ),
    );
    report.catch(() => undefined);
    // Let the VAD learn the room's noise floor, then speak, then silence for the hangover.
    earbud.feedSilence(600);
    result.utteranceMs = Math.round(earbud.feedWav(options.wav ?? DEFAULT_UTTERANCE));
    earbud.feedSilence(2000);
    progress(`earbud speaks ${(result.utteranceMs / 1000).toFixed(1)} s of audio; waiting for the reply`);
    const got = await Promise.race([report, aborted]);
    if (got === 'interrupted') {
      result.error = 'interrupted';
      return result;
    }
    if (got.kind !== 'utterance') throw new Error('unexpected event');
    result.report = got.report;
    // Let the speaker finish its last buffers (device time runs ×speed).
    await sleep(200, options.signal);
    const spk = earbud.speakerSamples();
    let n = 0;
    for (const s of spk) if (s < 126 || s > 130) n++;
    result.speakerSamples = n;
    result.ok = got.report.outcome === 'complete' && n > 0;
    if (!result.ok) result.error = got.report.error ?? `outcome ${got.report.outcome}, ${n} samples heard`;
    return result;
  } catch (e) {
    result.error =
      e instanceof Error
        ? e.name === 'TimeoutError'
          ? 'timed out waiting for the earbud'
          : e.message
        : String(e);
    return result;
  } finally {
    progress('stopping');
    await bridge?.stop();
    await env?.close();
    if (!options.service) await service.close().catch(() => undefined);
  }
}

/** Human summary of a demo run. */
export function formatDemoSummary(r: DemoResult): string {
  const lines: string[] = [];
  lines.push(`budlink demo: ${r.ok ? 'OK' : 'FAILED'}${r.error ? ` (${r.error})` : ''}`);
  lines.push(`  earbud      simulated ${r.board}, real firmware bundle`);
  lines.push(
    `  link        ${r.transport === 'bluez' ? 'node-ble → BlueZ emulator (private D-Bus)' : 'in-process'}`,
  );
  lines.push(`  voice       ${r.voiceService}`);
  lines.push(
    `  clock       device clock accelerated ×${r.speed}: on-device durations take 1/${r.speed} of wall time; host timings below are wall-clock`,
  );
  const rep = r.report;
  if (rep) {
    lines.push(
      `  utterance   stream ${rep.stream}, ${(rep.durationMs / 1000).toFixed(2)} s recorded (fed ${(r.utteranceMs / 1000).toFixed(2)} s), ${triggerName(rep.trigger) ?? 'no WAKE'} to ${endReasonName(rep.endReason) ?? 'no END'}, ${rep.recovered} frames recovered`,
    );
    lines.push(
      `  wake gate   ${rep.verdict ? `${rep.verdict.accept ? 'accepted' : 'rejected'} (score ${rep.verdict.score})` : '-'}`,
    );
    if (rep.transcript.user) lines.push(`  heard       ${rep.transcript.user}`);
    if (rep.transcript.assistant) lines.push(`  reply       ${rep.transcript.assistant}`);
    lines.push(
      `  playback    ${rep.replySamples} samples sent, ${r.speakerSamples} non-silent samples out of the speaker`,
    );
    const t = rep.timings;
    const f = (v: number | undefined): string =>
      v === undefined ? '      -' : `${v.toFixed(1).padStart(7)}`;
    lines.push('  stage timings (ms since the WAKE frame arrived):');
    lines.push(`    end of utterance     ${f(t.utteranceEnd)}`);
    lines.push(`    wake verified        ${f(t.verified)}`);
    lines.push(`    service request      ${f(t.serviceRequest)}`);
    lines.push(`    first reply audio    ${f(t.firstReplyAudio)}`);
    lines.push(`    first PLAY frame     ${f(t.firstPlay)}`);
    lines.push(`    playback end         ${f(t.playbackEnd)}`);
  }
  return lines.join('\n');
}

const options = {
  transport: { type: 'string' },
  speed: { type: 'string' },
  board: { type: 'string' },
  wav: { type: 'string' },
  timeout: { type: 'string' },
} as const;

export const demoCommand: Command<typeof options> = {
  summary: 'the main job (npm start): one simulated earbud, the bridge, the voice service',
  usage: `budlink demo [--transport auto|bluez|in-process] [--speed X] [--board ID] [--wav FILE] [--timeout MS]

Runs the bridge with one simulated earbud that speaks a bundled utterance through the real firmware
bundle; the utterance is gated and relayed to the voice service configured in the environment, or
else to the offline local service when pocketsphinx and espeak-ng are installed (BUDLINK_VOICE=local
asks for it), or else to the loopback service (plays the utterance back). Prints a summary with
per-stage timings; its "voice" line names the service that ran.
With dbus-daemon installed the link is node-ble → BlueZ emulator on a private bus (started and
stopped by the demo); else the in-process link.

options:
      --transport T     auto (default) | bluez | in-process
      --speed X         device clock acceleration (default ${SIM_DEFAULTS.speed})
      --board ID        board profile (default ${SIM_DEFAULTS.board})
      --wav FILE        utterance to speak (default host/assets/utterance-8k.wav)
      --timeout MS      give up after MS (default 60000)`,
  options,
  run: runDemoCommand,
};

async function runDemoCommand(a: CommandContext<typeof options>, io: CliIo): Promise<number> {
  const wav = a.values.wav;
  const board = boardOf(a.values.board, SIM_DEFAULTS.board);
  const speed = num(a.values.speed, 'speed', 0.1, 50);
  const timeoutMs = int(a.values.timeout, 'timeout', 1000, 600000);
  const transport = simTransport(a.values.transport, a.loaded.config);
  const path = wav === undefined ? undefined : speakableWav(wav, io.cwd, `--wav ${wav}`).path;
  const r = await runDemo({
    config: a.loaded.config,
    voice: a.loaded.voice,
    logger: a.log,
    transport,
    speed,
    board,
    wav: path,
    timeoutMs,
    progress: progress(io, a.json),
    signal: io.signal,
  });
  if (io.signal.aborted) return 130;
  const json = () => JSON.stringify({ ...r, report: r.report && reportForJson(r.report) });
  io.stdout(a.json ? json() : formatDemoSummary(r));
  return r.ok ? 0 : 1;
}
