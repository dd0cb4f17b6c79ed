/**
 * budlink.config.json + BUDLINK_* environment variables -> BudlinkConfig (plus the voice service
 * config, whose keys and OPENAI_* variables the voice module parses).
 *
 * Precedence: command-line flags > environment > config file > defaults. Unknown keys and wrong
 * types are errors naming the key and the file, with a suggestion for near-miss typos:
 *   config: unknown key 'voise' in ./budlink.config.json (did you mean 'voice'?)
 */
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve, isAbsolute } from 'node:path';
import {
  DEFAULT_VOICE_CONFIG,
  DOUBAO_FILE_KEYS,
  VOICE_FILE_KEYS,
  voiceConfigFromEnv,
  type VoiceConfig,
} from '../voice/config';
import { VoiceError } from '../voice/types';
import type { LogLevel } from '../pipeline/types';
import { LINK_DEFAULTS, RECONNECT_DEFAULTS, SESSION_DEFAULTS } from '../defaults';

export type LinkKind = 'auto' | 'node-ble' | 'in-process';

export interface SessionConfig {
  /** PING period (ms) the host asks for in WELCOME; 0 = none. */
  keepAliveMs: number;
  /** Device silence (ms) after which the link is dropped and reconnected; 0 = never. */
  keepAliveTimeoutMs: number;
  /** A connection that sends no HELLO within this is dropped and reconnected; 0 = never. */
  helloTimeoutMs: number;
  /** Longest gap between frames of an utterance before it is abandoned. */
  utteranceTimeoutMs: number;
  /** Longest utterance (ms of audio) accepted; a longer one is cancelled and reported; 0 = no limit. */
  maxUtteranceMs: number;
  /** Utterances one earbud may send to the voice service a minute; more get GATE REJECT; 0 = no limit. */
  maxUtterancesPerMinute: number;
  verifyTimeoutMs: number;
  /** Longest wait for the voice service's first reply audio. */
  thinkingTimeoutMs: number;
  /** Longest wait for playback credit / progress while speaking. */
  speakingTimeoutMs: number;
  /** Re-NACK period while an utterance has gaps. */
  nackIntervalMs: number;
  ackEveryFrames: number;
  /** PLAY frames sent before the device's first CREDIT for a reply. */
  playInitialWindow: number;
  /** Wake verification: 'accept' (trust the earbud) or 'energy' (reject wakes no louder than the room). */
  wakeVerifier: 'accept' | 'energy';
}

export interface BudlinkConfig {
  link: LinkKind;
  /** Addresses (AA:BB:CC:DD:EE:FF) the bridge connects to; empty: every Budlink earbud scan finds. */
  devices: string[];
  /** Only earbuds whose advertised name starts with this. */
  namePrefix: string;
  scanTimeoutMs: number;
  connectTimeoutMs: number;
  reconnect: { initialDelayMs: number; maxDelayMs: number };
  session: SessionConfig;
  log: { level: LogLevel; json: boolean };
  /** The "voice" section as written in the file (validated by voiceConfigFromEnv). */
  voice?: unknown;
}

export const DEFAULT_CONFIG: BudlinkConfig = {
  link: 'auto',
  devices: [],
  namePrefix: '',
  scanTimeoutMs: LINK_DEFAULTS.scanTimeoutMs,
  connectTimeoutMs: LINK_DEFAULTS.connectTimeoutMs,
  reconnect: { initialDelayMs: RECONNECT_DEFAULTS.initialDelayMs, maxDelayMs: RECONNECT_DEFAULTS.maxDelayMs },
  session: {
    keepAliveMs: SESSION_DEFAULTS.keepAliveMs,
    keepAliveTimeoutMs: SESSION_DEFAULTS.keepAliveMs * SESSION_DEFAULTS.keepAliveTimeoutFactor,
    helloTimeoutMs: SESSION_DEFAULTS.helloTimeoutMs,
    utteranceTimeoutMs: SESSION_DEFAULTS.timeouts.utterance,
    maxUtteranceMs: SESSION_DEFAULTS.maxUtteranceMs,
    maxUtterancesPerMinute: SESSION_DEFAULTS.maxUtterancesPerMinute,
    verifyTimeoutMs: SESSION_DEFAULTS.timeouts.verifying,
    thinkingTimeoutMs: SESSION_DEFAULTS.timeouts.thinking,
    speakingTimeoutMs: SESSION_DEFAULTS.timeouts.speaking,
    nackIntervalMs: SESSION_DEFAULTS.nackIntervalMs,
    ackEveryFrames: SESSION_DEFAULTS.ackEveryFrames,
    playInitialWindow: SESSION_DEFAULTS.playInitialWindow,
    wakeVerifier: 'accept',
  },
  log: { level: 'info', json: false },
};

export const CONFIG_FILE_NAME = 'budlink.config.json';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Schema node: what a key may hold. */
type Schema =
  | { kind: 'int'; min: number; max: number }
  | { kind: 'bool' }
  | { kind: 'string'; pattern?: RegExp; hint?: string }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'strings'; pattern?: RegExp; hint?: string }
  | { kind: 'object'; fields: Record<string, Schema> }
  | { kind: 'any' };

const ms = (max = 600000): Schema => ({ kind: 'int', min: 0, max });
const ADDRESS = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;

export const CONFIG_SCHEMA: Schema = {
  kind: 'object',
  fields: {
    $schema: { kind: 'string' },
    link: { kind: 'enum', values: ['auto', 'node-ble', 'in-process'] },
    devices: { kind: 'strings', pattern: ADDRESS, hint: 'a BLE address like AA:BB:CC:DD:EE:FF' },
    namePrefix: { kind: 'string' },
    scanTimeoutMs: ms(),
    connectTimeoutMs: ms(),
    reconnect: { kind: 'object', fields: { initialDelayMs: ms(), maxDelayMs: ms() } },
    session: {
      kind: 'object',
      fields: {
        keepAliveMs: ms(65535),
        keepAliveTimeoutMs: ms(),
        helloTimeoutMs: ms(),
        utteranceTimeoutMs: ms(),
        maxUtteranceMs: ms(),
        maxUtterancesPerMinute: { kind: 'int', min: 0, max: 600 },
        verifyTimeoutMs: ms(),
        thinkingTimeoutMs: ms(),
        speakingTimeoutMs: ms(),
        nackIntervalMs: ms(),
        ackEveryFrames: { kind: 'int', min: 1, max: 1000 },
        playInitialWindow: { kind: 'int', min: 1, max: 255 },
        wakeVerifier: { kind: 'enum', values: ['accept', 'energy'] },
      },
    },
    log: {
      kind: 'object',
      fields: { level: { kind: 'enum', values: ['debug', 'info', 'warn', 'error'] }, json: { kind: 'bool' } },
    },
    voice: { kind: 'any' },
  },
};

/**
 * Keys of the "voice" section, checked here for typos with a did-you-mean hint (values are checked by
 * the voice module). The top level is the voice module's own VOICE_FILE_KEYS, so a key it accepts is
 * never refused here; the nested objects' keys come from its defaults.
 */
const VOICE_NESTED_KEYS: Record<string, readonly string[]> = {
  models: Object.keys(DEFAULT_VOICE_CONFIG.models),
  timeouts: Object.keys(DEFAULT_VOICE_CONFIG.timeouts),
  retry: Object.keys(DEFAULT_VOICE_CONFIG.retry),
  endpoints: ['stt', 'chat', 'tts'],
  doubao: DOUBAO_FILE_KEYS,
};

function unknownKey(key: string, known: readonly string[], prefix: string, where: string): ConfigError {
  const hint = suggest(key, known);
  return new ConfigError(
    `config: unknown key '${prefix}${key}' ${where}${hint ? ` (did you mean '${prefix}${hint}'?)` : ''}`,
  );
}

/** Typo check of the "voice" section against the voice module's keys. */
function checkVoiceKeys(voice: Record<string, unknown>, where: string): void {
  for (const [k, v] of Object.entries(voice)) {
    if (!VOICE_FILE_KEYS.includes(k)) throw unknownKey(k, VOICE_FILE_KEYS, 'voice.', where);
    const nested = VOICE_NESTED_KEYS[k];
    if (nested === undefined) continue;
    if (!isRecord(v))
      throw new ConfigError(`config: 'voice.${k}' ${where} must be an object, got ${typeName(v)}`);
    for (const k2 of Object.keys(v)) {
      if (!nested.includes(k2)) throw unknownKey(k2, nested, `voice.${k}.`, where);
    }
  }
}

/** Edit distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length] as number;
}

export function suggest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(key, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && !Number.isInteger(v)) return `the number ${v}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Check `value` against `schema`; `where` names the source for messages ("in ./budlink.config.json"). */
function check(value: unknown, schema: Schema, key: string, where: string): void {
  const bad = (what: string): never => {
    throw new ConfigError(`config: '${key}' ${where} must be ${what}, got ${typeName(value)}`);
  };
  switch (schema.kind) {
    case 'any':
      return;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) bad('an integer');
      if ((value as number) < schema.min || (value as number) > schema.max)
        bad(`between ${schema.min} and ${schema.max}`);
      return;
    case 'bool':
      if (typeof value !== 'boolean') bad('true or false');
      return;
    case 'string':
      if (typeof value !== 'string') bad('a string');
      if (schema.pattern && !schema.pattern.test(value as string))
        bad(schema.hint ?? `like ${schema.pattern}`);
      return;
    case 'enum':
      if (typeof value !== 'string' || !schema.values.includes(value))
        bad(`one of ${schema.values.map((v) => `'${v}'`).join(', ')}`);
      return;
    case 'strings':
      if (!Array.isArray(value)) bad('an array of strings');
      (value as unknown[]).forEach((item, i) =>
        check(item, { kind: 'string', pattern: schema.pattern, hint: schema.hint }, `${key}[${i}]`, where),
      );
      return;
    case 'object': {
      if (!isRecord(value)) bad('an object');
      const known = Object.keys(schema.fields);
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const full = key ? `${key}.${k}` : k;
        // own keys only: "toString" or "__proto__" must not find Object.prototype's members
        const sub = Object.hasOwn(schema.fields, k) ? schema.fields[k] : undefined;
        if (!sub) {
          const hint = suggest(k, known);
          throw new ConfigError(
            `config: unknown key '${full}' ${where}${hint ? ` (did you mean '${key ? `${key}.` : ''}${hint}'?)` : ''}`,
          );
        }
        check(v, sub, full, where);
      }
    }
  }
}

function merge<T>(base: T, over: unknown): T {
  if (!isRecord(base) || !isRecord(over)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge((base as Record<string, unknown>)[k], v);
  return out as T;
}

/** Environment variables this module reads (the voice module reads OPENAI_* and its own BUDLINK_*). */
export const ENV_KEYS: Record<string, { key: string; schema: Schema; doc: string }> = {
  BUDLINK_LINK: {
    key: 'link',
    schema: CONFIG_SCHEMA.kind === 'object' ? (CONFIG_SCHEMA.fields.link as Schema) : { kind: 'any' },
    doc: 'auto | node-ble | in-process',
  },
  BUDLINK_DEVICES: {
    key: 'devices',
    schema: { kind: 'strings', pattern: ADDRESS, hint: 'a BLE address like AA:BB:CC:DD:EE:FF' },
    doc: 'comma-separated addresses',
  },
  BUDLINK_NAME_PREFIX: {
    key: 'namePrefix',
    schema: { kind: 'string' },
    doc: 'advertised name prefix filter',
  },
  BUDLINK_SCAN_TIMEOUT_MS: { key: 'scanTimeoutMs', schema: ms(), doc: 'scan duration (ms)' },
  BUDLINK_CONNECT_TIMEOUT_MS: { key: 'connectTimeoutMs', schema: ms(), doc: 'connect + GATT timeout (ms)' },
  BUDLINK_KEEPALIVE_MS: { key: 'session.keepAliveMs', schema: ms(65535), doc: 'PING period (ms)' },
  BUDLINK_WAKE_VERIFIER: {
    key: 'session.wakeVerifier',
    schema: { kind: 'enum', values: ['accept', 'energy'] },
    doc: 'accept | energy (host-side wake check)',
  },
  BUDLINK_LOG_LEVEL: {
    key: 'log.level',
    schema: { kind: 'enum', values: ['debug', 'info', 'warn', 'error'] },
    doc: 'debug | info | warn | error',
  },
  BUDLINK_LOG_JSON: { key: 'log.json', schema: { kind: 'bool' }, doc: '1 / true: JSON log lines' },
};

function envValue(name: string, raw: string, schema: Schema): unknown {
  switch (schema.kind) {
    case 'int': {
      const n = Number(raw.trim());
      return raw.trim() === '' || !Number.isFinite(n) ? raw : n;
    }
    case 'bool':
      if (/^(1|true|yes|on)$/i.test(raw.trim())) return true;
      if (/^(0|false|no|off|)$/i.test(raw.trim())) return false;
      return raw;
    case 'strings':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    default:
      void name;
      return raw;
  }
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) {
    if (!isRecord(o[p])) o[p] = {};
    o = o[p] as Record<string, unknown>;
  }
  o[parts[parts.length - 1] as string] = value;
}

export interface LoadOptions {
  /** Explicit --config path (must exist). */
  path?: string;
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Values from command-line flags, same shape as the file (highest precedence). */
  overrides?: Record<string, unknown>;
}

export interface LoadedConfig {
  config: BudlinkConfig;
  voice: VoiceConfig;
  /** The file read, as given / found (undefined: none). */
  file?: string;
}

/** Read, validate and merge the configuration. Throws ConfigError with a message for the user. */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  let path = options.path ?? env.BUDLINK_CONFIG;
  const explicit = path !== undefined && path !== '';
  if (!explicit) path = existsSync(resolve(cwd, CONFIG_FILE_NAME)) ? CONFIG_FILE_NAME : undefined;
  let fileValue: Record<string, unknown> = {};
  let shown: string | undefined;
  if (path) {
    const abs = isAbsolute(path) ? path : resolve(cwd, path);
    shown = isAbsolute(path) ? path : `./${relative(cwd, abs)}`;
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch (e) {
      throw new ConfigError(
        `config: cannot read ${shown}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`config: ${shown} is not valid JSON: ${(e as Error).message}`);
    }
    if (!isRecord(parsed))
      throw new ConfigError(`config: ${shown} must hold a JSON object, got ${typeName(parsed)}`);
    check(parsed, CONFIG_SCHEMA, '', `in ${shown}`);
    if (parsed.voice !== undefined) {
      if (!isRecord(parsed.voice))
        throw new ConfigError(`config: 'voice' in ${shown} must be an object, got ${typeName(parsed.voice)}`);
      checkVoiceKeys(parsed.voice, `in ${shown}`);
    }
    fileValue = parsed;
  }
  const fromEnv: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined) continue;
    const v = envValue(name, raw, spec.schema);
    check(v, spec.schema, spec.key, `(from ${name})`);
    setPath(fromEnv, spec.key, v);
  }
  if (options.overrides) check(options.overrides, CONFIG_SCHEMA, '', '(from the command line)');
  const config = merge(merge(merge(DEFAULT_CONFIG, fileValue), fromEnv), options.overrides ?? {});
  delete (config as { $schema?: unknown }).$schema;
  if (config.reconnect.maxDelayMs < config.reconnect.initialDelayMs) {
    throw new ConfigError(
      `config: 'reconnect.maxDelayMs' ${shown ? `in ${shown} ` : ''}must be at least reconnect.initialDelayMs`,
    );
  }
  let voice: VoiceConfig;
  try {
    voice = voiceConfigFromEnv(env, fileValue.voice);
  } catch (e) {
    if (e instanceof VoiceError)
      throw new ConfigError(`config: ${e.message}${shown ? ` (file ${shown} or environment)` : ''}`);
    throw e;
  }
  return { config, voice, file: shown };
}
