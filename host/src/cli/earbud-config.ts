/**
 * `budlink config`: read and set an earbud's CONFIG (PROTOCOL.md §4 CONFIG): connect, say WELCOME to its
 * HELLO as the bridge would, then one CONFIG GET or SET per key, each answered by VALUE (the value now in
 * force) or ERROR (refused: the earbud says why). The earbud keeps a SET across power cycles.
 */
import { asyncScheduler } from 'rxjs';
import {
  ConfigKey,
  ConfigOp,
  FrameType,
  NAME_MAX,
  decodeFrame,
  type Frame,
  type HelloFrame,
} from '@budlink/protocol';
import type { Connection } from '@budlink/link';
import { Downlink } from '../pipeline/downlink';
import { Handshake } from '../pipeline/handshake';
import { printable } from '../pipeline/printable';
import type { Command, CommandContext } from './command';
import { UsageError, type CliIo } from './io';
import { readyLink } from './real-link';

/** Each CONFIG key by the name the command takes, with its width (or text) and range. */
export const CONFIG_KEYS: Readonly<Record<string, { key: number; kind: 'u8' | 'u16' | 'text' }>> = {
  'sample-rate': { key: ConfigKey.SAMPLE_RATE, kind: 'u16' },
  'vad-threshold': { key: ConfigKey.VAD_THRESHOLD, kind: 'u8' },
  'preroll-ms': { key: ConfigKey.PREROLL_MS, kind: 'u16' },
  'max-utterance-ms': { key: ConfigKey.MAX_UTTERANCE_MS, kind: 'u16' },
  'hangover-ms': { key: ConfigKey.HANGOVER_MS, kind: 'u16' },
  'wake-sensitivity': { key: ConfigKey.WAKE_SENSITIVITY, kind: 'u8' },
  volume: { key: ConfigKey.VOLUME, kind: 'u8' },
  name: { key: ConfigKey.NAME, kind: 'text' },
};

/** How long the earbud has to say HELLO, and to answer each CONFIG (ms). */
const HELLO_MS = 5000;
const ANSWER_MS = 3000;

/** One GET (value undefined) or SET. */
export interface ConfigRequest {
  name: string;
  value?: Uint8Array;
}

/** A `--set name=value` or `--get name` argument as a request; UsageError says what is wrong. */
export function configRequest(arg: string, set: boolean): ConfigRequest {
  const eq = arg.indexOf('=');
  const name = (set ? arg.slice(0, eq < 0 ? arg.length : eq) : arg).trim();
  const spec = CONFIG_KEYS[name];
  if (!spec) throw new UsageError(`unknown key '${name}' (known: ${Object.keys(CONFIG_KEYS).join(', ')})`);
  if (!set) return { name };
  if (eq < 0) throw new UsageError(`--set ${arg}: give a value, e.g. --set ${name}=...`);
  const text = arg.slice(eq + 1);
  if (spec.kind === 'text') {
    if (text.length > NAME_MAX || !/^[\x20-\x7e]*$/.test(text))
      throw new UsageError(`--set ${name}: at most ${NAME_MAX} printable ASCII characters`);
    return { name, value: new TextEncoder().encode(text) };
  }
  const max = spec.kind === 'u8' ? 255 : 65535;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 0 || n > max)
    throw new UsageError(`--set ${name}: a whole number from 0 to ${max}, got '${text}'`);
  return { name, value: spec.kind === 'u8' ? Uint8Array.of(n) : Uint8Array.of(n & 0xff, n >> 8) };
}

/** A VALUE's bytes as the command prints them. */
export function configText(name: string, value: Uint8Array): string {
  const kind = CONFIG_KEYS[name]?.kind;
  if (kind === 'text') return printable(new TextDecoder().decode(value));
  if (kind === 'u8' && value.length === 1) return String(value[0]);
  if (kind === 'u16' && value.length === 2) return String((value[0] as number) | ((value[1] as number) << 8));
  return `0x${Buffer.from(value).toString('hex')}`;
}

/** The next uplink frame `pick` accepts, or undefined after `ms`. */
function nextFrame<T>(c: Connection, ms: number, pick: (f: Frame) => T | undefined): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), ms);
    const sub = c.frames$.subscribe((bytes) => {
      const r = decodeFrame(bytes);
      const v = r.ok ? pick(r.frame) : undefined;
      if (v !== undefined) done(v);
    });
    function done(v: T | undefined): void {
      clearTimeout(timer);
      sub.unsubscribe();
      resolve(v);
    }
  });
}

export interface ConfigAnswer {
  name: string;
  value?: string;
  /** Why the earbud refused, or that it did not answer. */
  refused?: string;
}

/** Welcome the earbud on `c`, then ask each request in turn. */
export async function configure(c: Connection, requests: ConfigRequest[]): Promise<ConfigAnswer[]> {
  const log = (): void => undefined;
  const handshake = new Handshake({ keepAliveMs: 0, helloTimeoutMs: 0, scheduler: asyncScheduler, log });
  const downlink = new Downlink({ payloadSize: () => handshake.negotiated?.payloadSize, log });
  downlink.attach(c);
  const notified = nextFrame(c, HELLO_MS, (f) => (f.type === FrameType.HELLO ? f : undefined));
  const read = c.readUplink ? await c.readUplink().catch(() => undefined) : undefined;
  const fromRead = read ? decodeFrame(read) : undefined;
  const hello: HelloFrame | undefined =
    fromRead?.ok && fromRead.frame.type === FrameType.HELLO ? fromRead.frame : await notified;
  if (!hello) throw new Error(`no HELLO from ${c.device.address} in ${HELLO_MS} ms: is it a Budlink earbud?`);
  const outcome = handshake.hello(hello, c, 'handshake');
  if (outcome.kind === 'unsupported') throw new Error(outcome.why);
  if (outcome.kind === 'welcomed' || outcome.kind === 'welcome-again') downlink.send(outcome.welcome);
  const answers: ConfigAnswer[] = [];
  for (const r of requests) {
    const key = (CONFIG_KEYS[r.name] as { key: number }).key;
    const answer = nextFrame(c, ANSWER_MS, (f): ConfigAnswer | undefined => {
      if (f.type === FrameType.CONFIG && f.op === ConfigOp.VALUE && f.key === key)
        return { name: r.name, value: configText(r.name, f.value) };
      if (f.type === FrameType.ERROR && f.refType === FrameType.CONFIG)
        return { name: r.name, refused: printable(f.message) };
      return undefined;
    });
    const op = r.value === undefined ? ConfigOp.GET : ConfigOp.SET;
    downlink.send({
      type: FrameType.CONFIG,
      stream: 0,
      seq: 0,
      op,
      key,
      value: r.value ?? new Uint8Array(0),
    });
    answers.push((await answer) ?? { name: r.name, refused: `no answer in ${ANSWER_MS} ms` });
  }
  return answers;
}

const options = {
  device: { type: 'string' },
  get: { type: 'string', multiple: true },
  set: { type: 'string', multiple: true },
} as const;

export const configCommand: Command<typeof options> = {
  summary: "read and set an earbud's settings (CONFIG): rate, voice detection, pre-roll, volume, name",
  usage: `budlink config [--device ADDR] [--get KEY]... [--set KEY=VALUE]...

Connects to the earbud (--device, or the first of the configured devices), greets it as the bridge
does, and reads (--get) or sets (--set) its settings; with neither, reads them all. The earbud checks
each value and keeps what it accepts across power cycles; a refusal says why and exits 1.

keys: ${Object.keys(CONFIG_KEYS).join(', ')}

options:
      --device ADDR       the earbud's address
      --get KEY           read a setting (repeatable)
      --set KEY=VALUE     set a setting (repeatable), e.g. --set volume=200 --set name=Left`,
  options,
  run: runConfig,
};

async function runConfig(a: CommandContext<typeof options>, io: CliIo): Promise<number> {
  const v = a.values;
  const requests = [
    ...(v.set ?? []).map((s) => configRequest(s, true)),
    ...(v.get ?? []).map((g) => configRequest(g, false)),
  ];
  if (requests.length === 0) requests.push(...Object.keys(CONFIG_KEYS).map((name) => ({ name })));
  const device = (v.device ?? a.loaded.config.devices[0])?.toUpperCase();
  if (device === undefined) throw new UsageError('which earbud? give --device ADDR (see budlink scan)');
  const link = await readyLink('config', a.loaded.config, io);
  if (!link) return 2;
  try {
    const c = await link.connect(device, { timeoutMs: a.loaded.config.connectTimeoutMs });
    try {
      const answers = await configure(c, requests);
      for (const x of answers) {
        if (a.json) io.stdout(JSON.stringify(x));
        else
          io.stdout(
            x.refused === undefined ? `${x.name} = ${x.value ?? ''}` : `${x.name}: refused (${x.refused})`,
          );
      }
      return answers.every((x) => x.refused === undefined) ? 0 : 1;
    } finally {
      await c.disconnect().catch(() => undefined);
    }
  } catch (e) {
    a.log.log('error', `budlink config: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    await link.close().catch(() => undefined);
  }
}
