/** `budlink bridge`: connect to earbuds and relay them to the voice service until Ctrl-C. */
import { printable } from '../pipeline/printable';
import type { Subscription } from 'rxjs';
import { Bridge, type DeviceStatus } from '../bridge/index';
import type { Link } from '@budlink/link';
import type { BudlinkConfig } from '../config/index';
import type { Logger } from '../pipeline/types';
import { createVoiceService } from '../voice/index';
import { bridgeOptions } from './bridge-options';
import type { Command, CommandContext } from './command';
import { progress, waitAbort, type CliIo } from './io';
import { readyLink } from './real-link';

const options = { device: { type: 'string', multiple: true }, name: { type: 'string' } } as const;

export const bridgeCommand: Command<typeof options> = {
  summary: 'connect to earbuds and relay them to the voice service (runs until Ctrl-C)',
  usage: `budlink bridge [--device ADDR]... [--name PREFIX]

Connects to the configured earbuds (config "devices", $BUDLINK_DEVICES or --device; none: every
Budlink earbud a scan finds), reconnects on loss, and relays each utterance to the voice service
configured in the environment (OPENAI_API_KEY / OPENAI_BASE_URL / BUDLINK_VOICE; default local when
pocketsphinx and espeak-ng are installed, else loopback).

options:
      --device ADDR     earbud address (repeatable)
      --name PREFIX     when scanning, only names starting with PREFIX`,
  options,
  run: runBridge,
};

/** Status of every earbud, once a minute. */
const STATUS_EVERY_MS = 60000;

async function runBridge(a: CommandContext<typeof options>, io: CliIo): Promise<number> {
  const config = a.loaded.config;
  // Once running, a bus or BlueZ that goes away is waited for (the links reconnect).
  const link = await readyLink('bridge', config, io);
  if (!link) return 2;
  const voice = createVoiceService(a.loaded.voice);
  const bridge = new Bridge({ link, voice, logger: a.log, ...bridgeOptions(config) });
  const say = progress(io, a.json);
  say(`bridge up: voice service ${voice.name}; Ctrl-C to stop`);
  for (const d of config.devices) bridge.addDevice(d.toUpperCase());
  const scanner = new Scanner(link, bridge, config, a.log, say, io.signal);
  if (config.devices.length === 0) scanner.scan();
  const statusTimer = setInterval(() => {
    for (const s of bridge.status()) say(statusLine(s));
  }, STATUS_EVERY_MS);
  await waitAbort(io.signal);
  clearInterval(statusTimer);
  scanner.stop();
  say('stopping: disconnecting earbuds');
  await bridge.stop();
  await link.close().catch(() => undefined);
  await voice.close().catch(() => undefined);
  return 130;
}

/** With no earbuds configured: scan, add every earbud found, scan again while none is. */
class Scanner {
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly link: Link,
    private readonly bridge: Bridge,
    private readonly config: BudlinkConfig,
    private readonly log: Logger,
    private readonly say: (line: string) => void,
    private readonly signal: AbortSignal,
  ) {}

  scan(): void {
    if (this.signal.aborted) return;
    this.say('scanning for earbuds');
    const { scanTimeoutMs, namePrefix } = this.config;
    this.sub = this.link.scan({ timeoutMs: scanTimeoutMs, namePrefix: namePrefix || undefined }).subscribe({
      next: (d) => {
        if (!this.bridge.status().some((s) => s.deviceId === d.id)) {
          this.say(`found ${printable(d.name)} (${d.address})`);
          this.bridge.addDevice(d.id);
        }
      },
      error: (e: unknown) => {
        this.log.log(
          'warn',
          `scan failed: ${e instanceof Error ? e.message : String(e)} (run \`budlink doctor\`); retrying`,
        );
        this.timer = setTimeout(() => this.scan(), scanTimeoutMs);
      },
      complete: () => {
        if (this.bridge.status().length === 0) this.timer = setTimeout(() => this.scan(), 1000);
      },
    });
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.sub?.unsubscribe();
  }
}

/**
 * One earbud's status: phase, utterances, and what its last STATUS said (battery, free JsVars, mic
 * overruns, frames re-sent, handler errors, uptime).
 */
export function statusLine(s: DeviceStatus): string {
  const m = s.metrics;
  const health = m
    ? `${m.battery !== undefined ? `, battery ${m.battery}%` : ''}, ${m.freeVars} JsVars free, ` +
      `${m.overruns} overrun(s), ${m.drops} re-sent, ${m.errors} error(s), up ${Math.round(m.uptimeS)} s`
    : '';
  return `${s.deviceId}: ${s.connected ? s.phase : 'disconnected'}, ${s.utterances} utterance(s)${health}`;
}
