/**
 * A CLI command: its help, its options (node:util parseArgs) and what it runs. The values a command
 * reads are typed from its own option table plus the global options, so no command casts them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BOARDS } from '@budlink/firmware/boards';
import { decodeWav } from '@budlink/protocol/audio';
import type { parseArgs, ParseArgsConfig } from 'node:util';
import type { BudlinkConfig, LoadedConfig } from '../config/index';
import type { Logger } from '../pipeline/types';
import { UsageError, type CliIo } from './io';
import { speechSpan } from './verdict';
import type { SimTransport } from '../bridge/simenv';

export type OptionTable = NonNullable<ParseArgsConfig['options']>;

export const GLOBAL_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  config: { type: 'string', short: 'c' },
  'log-level': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  'log-file': { type: 'string' },
  link: { type: 'string' },
} as const satisfies OptionTable;

export const GLOBAL_HELP = `global options:
  -c, --config FILE     configuration file (default ./budlink.config.json, or $BUDLINK_CONFIG)
      --json            log (stderr) and results (stdout) as JSON lines
      --log-level LVL   debug | info | warn | error (default info)
  -q, --quiet           no progress lines, and only warnings and errors (unless --log-level)
      --log-file FILE   also append every log line, as JSON, to FILE (at --log-level, even with --quiet)
      --link KIND       auto | node-ble | in-process
  -h, --help            this help`;

/** The parsed values of a command with option table `O`. */
export type Values<O extends OptionTable> = ReturnType<
  typeof parseArgs<{ options: typeof GLOBAL_OPTIONS & O; strict: true; allowPositionals: false }>
>['values'];

export interface CommandContext<O extends OptionTable> {
  values: Values<O>;
  loaded: LoadedConfig;
  log: Logger;
  json: boolean;
}

export interface Command<O extends OptionTable = OptionTable> {
  summary: string;
  usage: string;
  options: O;
  // A method (not a function property): the command table holds commands of different option tables.
  run(context: CommandContext<O>, io: CliIo): Promise<number>;
}

/** A numeric option within [min, max], or undefined when not given. */
export function num(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a number between ${min} and ${max}, got '${v}'`);
  }
  return n;
}

/** A whole-number option within [min, max], or undefined when not given. */
export function int(v: string | undefined, name: string, min: number, max: number): number | undefined {
  const n = num(v, name, min, max);
  if (n !== undefined && !Number.isInteger(n)) {
    throw new UsageError(`--${name} must be a whole number between ${min} and ${max}, got '${String(v)}'`);
  }
  return n;
}

/**
 * --board: a known board profile (default `dflt`) whose earbud can hear (the firmware drives its
 * microphone; `hears` false: any board), checked before anything boots.
 */
export function boardOf(v: string | undefined, dflt: string, hears = true): string {
  const board = v ?? dflt;
  const profile = BOARDS[board];
  if (profile === undefined) {
    throw new UsageError(`--board must be one of ${Object.keys(BOARDS).join(', ')}, got '${board}'`);
  }
  if (hears && profile.mic.source !== 'analog') {
    const hearing = Object.keys(BOARDS).filter((b) => BOARDS[b]?.mic.source === 'analog');
    throw new UsageError(
      `--board ${board}: the firmware does not drive its ${profile.mic.source} microphone yet, so its earbud ` +
        `cannot hear; boards that can: ${hearing.join(', ')}`,
    );
  }
  return board;
}

/**
 * Below this loudest 20 ms block (RMS, of 32768: about -50 dBFS) a WAV holds nothing an earbud's
 * voice detection would hear.
 */
const SILENT_RMS = 100;

/**
 * A WAV an earbud is to speak, checked before anything boots: it exists, decodes, and is not silent.
 * `label` names it in the error (e.g. "--wav a.wav"). Returns the resolved path and the length of the
 * speech in it (ms, from its first to its last sound: what a report of it is judged against).
 */
export function speakableWav(path: string, cwd: string, label: string): { path: string; speechMs: number } {
  const abs = resolve(cwd, path);
  if (!existsSync(abs)) throw new UsageError(`${label}: no such file`);
  let span: { ms: number; loudest: number };
  try {
    span = speechSpan(decodeWav(new Uint8Array(readFileSync(abs))));
  } catch (e) {
    throw new UsageError(
      `${label}: not a WAV the earbud can speak: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (span.loudest < SILENT_RMS) {
    throw new UsageError(
      `${label}: no speech in it (silent: loudest ${Math.round(span.loudest)} of 32768 RMS)`,
    );
  }
  return { path: abs, speechMs: span.ms };
}

/** --transport, or undefined when not given. */
export function transportOf(v: string | undefined): SimTransport | undefined {
  if (v === undefined) return undefined;
  if (v === 'auto' || v === 'bluez' || v === 'in-process') return v;
  throw new UsageError(`--transport must be auto, bluez or in-process, got '${v}'`);
}

/** --transport, else the configured link ('in-process' stays in-process, anything else is auto). */
export function simTransport(v: string | undefined, config: BudlinkConfig): SimTransport {
  const fromLink: SimTransport =
    config.link === 'in-process' ? 'in-process' : config.link === 'node-ble' ? 'bluez' : 'auto';
  const t = transportOf(v);
  if (t === undefined) return fromLink;
  if (t !== 'auto' && fromLink !== 'auto' && t !== fromLink) {
    throw new UsageError(
      `--transport ${t} contradicts link '${config.link}' (from --link, BUDLINK_LINK or the config file): ` +
        `say one of them (link node-ble is transport bluez, link in-process is transport in-process)`,
    );
  }
  return t === 'auto' ? fromLink : t;
}
