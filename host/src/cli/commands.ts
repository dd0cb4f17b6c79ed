/** The command table and the top-level help. */
import { ENV_KEYS } from '../config/index';
import { VOICE_ENV_KEYS } from '../voice/index';
import { bridgeCommand } from './bridge';
import { GLOBAL_HELP, type Command } from './command';
import { demoCommand } from './demo';
import { configCommand } from './earbud-config';
import { doctorCommand } from './doctor';
import { scanCommand } from './scan';
import { simulateCommand } from './simulate';

export const COMMANDS: Readonly<Record<string, Command>> = {
  scan: scanCommand,
  bridge: bridgeCommand,
  simulate: simulateCommand,
  doctor: doctorCommand,
  config: configCommand,
  demo: demoCommand,
};

export function topHelp(): string {
  const names = Object.keys(COMMANDS);
  const w = Math.max(...names.map((n) => n.length));
  const envs = Object.entries(ENV_KEYS).map(([k, v]) => `  ${k.padEnd(28)} ${v.doc}`);
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

/** The usage of a command, with the global options. */
export function commandHelp(cmd: Command): string {
  return `${cmd.usage}\n\n${GLOBAL_HELP}`;
}
