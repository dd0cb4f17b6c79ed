/**
 * A CLI command: its help, its options (node:util parseArgs) and what it runs. The values a command
 * reads are typed from its own option table plus the global options, so no command casts them.
 */
import type { parseArgs, ParseArgsConfig } from 'node:util';
import type { BudlinkConfig, LoadedConfig } from '../config/index';
import type { Logger } from '../pipeline/types';
import { UsageError, type CliIo } from './io';
import type { SimTransport } from '../bridge/simenv';

export type OptionTable = NonNullable<ParseArgsConfig['options']>;

export const GLOBAL_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  config: { type: 'string', short: 'c' },
  'log-level': { type: 'string' },
  link: { type: 'string' },
} as const satisfies OptionTable;

export const GLOBAL_HELP = `global options:
  -c, --config FILE     configuration file (default ./budlink.config.json, or $BUDLINK_CONFIG)
      --json            log (stderr) and results (stdout) as JSON lines
      --log-level LVL   debug | info | warn | error (default info)
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

/** --transport, or undefined when not given. */
export function transportOf(v: string | undefined): SimTransport | undefined {
  if (v === undefined) return undefined;
  if (v === 'auto' || v === 'bluez' || v === 'in-process') return v;
  throw new UsageError(`--transport must be auto, bluez or in-process, got '${v}'`);
}

/** --transport, else the configured link ('in-process' stays in-process, anything else is auto). */
export function simTransport(v: string | undefined, config: BudlinkConfig): SimTransport {
  return transportOf(v) ?? (config.link === 'in-process' ? 'in-process' : 'auto');
}
