/**
 * `budlink`: the command-line interface of the host bridge (no CLI framework: node:util parseArgs).
 *
 *   budlink scan | bridge | simulate | doctor | demo   [--help] [--json] [--config FILE] ...
 *
 * Exit codes: 0 ok, 1 the command failed, 2 usage or configuration error, 130 interrupted (Ctrl-C),
 * 143 terminated (SIGTERM); both clean up first.
 * Results go to stdout; logs and progress lines to stderr. One file per command (scan.ts, bridge.ts,
 * simulate.ts, doctor.ts, demo.ts); the table is commands.ts.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type LoadedConfig } from '../config/index';
import { GLOBAL_OPTIONS, type Command, type Values } from './command';
import { COMMANDS, commandHelp, topHelp } from './commands';
import { UsageError, processIo, type CliIo } from './io';
import { LEVEL_ORDER, createLogger } from './log';

export type { CliIo } from './io';

export async function main(args: string[], partial: Partial<CliIo> = {}): Promise<number> {
  const io = processIo(partial);
  const argv = commandFirst(args);
  const name = argv[0];
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const cmd = name === 'help' && argv[1] ? COMMANDS[argv[1]] : undefined;
    io.stdout(cmd ? commandHelp(cmd) : topHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.stdout('budlink 0.1.0');
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    const near = Object.keys(COMMANDS).find((k) => k.startsWith(name.slice(0, 2)));
    io.stderr(
      `budlink: unknown command '${name}'${near ? ` (did you mean '${near}'?)` : ''}; see budlink --help`,
    );
    return 2;
  }
  let values: Values<Command['options']>;
  try {
    const options = { ...GLOBAL_OPTIONS, ...cmd.options };
    values = parseArgs({
      args: negativeValues(argv.slice(1), options),
      options,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    io.stderr(`budlink ${name}: ${e instanceof Error ? e.message : String(e)}\nsee budlink ${name} --help`);
    return 2;
  }
  if (values.help) {
    io.stdout(commandHelp(cmd));
    return 0;
  }
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig({ path: values.config, env: io.env, cwd: io.cwd, overrides: overridesOf(values) });
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr(e.message);
      return 2;
    }
    throw e;
  }
  const json = loaded.config.log.json;
  const level = loaded.config.log.level;
  const quiet = values.quiet === true;
  const logFile = values['log-file'] === undefined ? undefined : resolve(io.cwd, values['log-file']);
  const log = createLogger({
    level,
    // --quiet: warnings and errors only on the terminal, unless a level was asked for
    screenLevel:
      quiet && values['log-level'] === undefined && LEVEL_ORDER[level] < LEVEL_ORDER.warn ? 'warn' : level,
    json,
    write: io.stderr,
    file: logFile,
  });
  const cio: CliIo = quiet ? { ...io, quiet } : io;
  if (loaded.voice.keyWithheld !== undefined) log.log('warn', loaded.voice.keyWithheld);
  try {
    return await cmd.run({ values, loaded, log, json }, cio);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`budlink ${name}: ${e.message}`);
      return 2;
    }
    log.log('error', `budlink ${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 1;
  }
}

/** The configuration keys the command line sets (flags > environment > file > defaults). */
function overridesOf(v: Values<Command['options']>): Record<string, unknown> {
  const overrides: Record<string, unknown> = {};
  if (v.link !== undefined) overrides.link = v.link;
  const log: Record<string, unknown> = {};
  if (v.json) log.json = true;
  if (v['log-level'] !== undefined) log.level = v['log-level'];
  if (Object.keys(log).length > 0) overrides.log = log;
  if (Array.isArray(v.device)) overrides.devices = v.device;
  if (typeof v.name === 'string') overrides.namePrefix = v.name;
  return overrides;
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

/**
 * Global options may come before the command (`budlink --log-level debug demo`): move them after it,
 * where each command's parser reads them. Stops at the first word that is not a global option.
 */
export function commandFirst(args: readonly string[]): string[] {
  const before: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i] as string;
    const long = /^--([^=]+)(=.*)?$/.exec(a);
    const key = long
      ? long[1]
      : Object.entries(GLOBAL_OPTIONS).find(([, o]) => 'short' in o && `-${o.short}` === a)?.[0];
    if (key === undefined || key === 'help' || !(key in GLOBAL_OPTIONS)) break;
    const opt = GLOBAL_OPTIONS[key as keyof typeof GLOBAL_OPTIONS];
    before.push(a);
    if (opt.type === 'string' && !(long && long[2]) && i + 1 < args.length) before.push(args[++i] as string);
  }
  if (before.length === 0 || i >= args.length) return [...args];
  return [args[i] as string, ...before, ...args.slice(i + 1)];
}

/**
 * `--speed -1` is a value, not an option: join a negative number to its option (`--speed=-1`) so the
 * option's own range check answers, not the parser.
 */
function negativeValues(args: readonly string[], options: Command['options']): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const next = args[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : undefined;
    const opt =
      name === undefined ? undefined : (options as Record<string, { type: string } | undefined>)[name];
    if (opt?.type === 'string' && next !== undefined && /^-\d|^-\.\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}
