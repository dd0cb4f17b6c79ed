/**
 * CLI logging: human lines ("12:03:04.123 info  [AA:BB..] message") or JSON lines (--json), on
 * stderr so stdout stays for results (scan lists, summaries).
 */
import { appendFileSync } from 'node:fs';
import { printable } from '../pipeline/printable';
import type { LogLevel, Logger } from '../pipeline/types';

/** Log levels, least severe first. */
export const LEVEL_ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface CliLoggerOptions {
  level: LogLevel;
  json: boolean;
  write?: (line: string) => void;
  /** Colour / glyphs for a terminal (default: stderr is a TTY). */
  tty?: boolean;
  /** Lines below this level are not written (default `level`); the file gets what `level` allows. */
  screenLevel?: LogLevel;
  /** Also append every line at `level` to this file, as a JSON line. */
  file?: string;
}

export function createLogger(options: CliLoggerOptions): Logger {
  const write = options.write ?? ((line: string) => void process.stderr.write(line + '\n'));
  const min = LEVEL_ORDER[options.level];
  const screen = LEVEL_ORDER[options.screenLevel ?? options.level];
  const file = options.file;
  const jsonLine = (level: LogLevel, message: string, fields?: Record<string, unknown>): string => {
    const rec: Record<string, unknown> = { time: new Date().toISOString(), level, msg: message };
    if (fields) for (const [k, v] of Object.entries(fields)) if (!(k in rec)) rec[k] = v;
    return JSON.stringify(rec, (_k, v: unknown) =>
      v instanceof Uint8Array || v instanceof Int16Array ? `<${v.length} samples>` : v,
    );
  };
  return {
    log(level, message, fields) {
      if (LEVEL_ORDER[level] < min) return;
      if (file !== undefined) appendFileSync(file, jsonLine(level, message, fields) + '\n');
      if (LEVEL_ORDER[level] < screen) return;
      if (options.json) {
        write(jsonLine(level, message, fields));
        return;
      }
      const t = new Date().toISOString().slice(11, 23);
      const device = fields && typeof fields.device === 'string' ? ` [${fields.device}]` : '';
      // a terminal line: no escape sequence from anywhere reaches the terminal (device text is also
      // escaped where it enters, newlines included)
      write(printable(`${t} ${level.padEnd(5)}${device} ${message}`, true));
    },
  };
}
