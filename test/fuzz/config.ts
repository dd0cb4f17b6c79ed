/**
 * Fuzz targets for configuration input: budlink.config.json through loadConfig (a temporary file plus
 * BUDLINK_* / OPENAI_* variables), and the voice section through voiceConfigFromEnv. A configuration
 * either loads into values every key of which is known and in its domain, or is refused with the
 * documented error (ConfigError, VoiceError of kind 'config') that never shows the API key.
 * Seed corpus: the empty file, a file setting every key, and partial ones; cases are structural edits
 * (keys added from the schema and awkward keys such as "toString", values swapped for edge values) and
 * byte edits of the JSON text.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  DEFAULT_CONFIG,
  ENV_KEYS,
  loadConfig,
  type BudlinkConfig,
} from '../../host/src/config/config';
import {
  DEFAULT_VOICE_CONFIG,
  VOICE_ENV_KEYS,
  voiceConfigFromEnv,
  type VoiceConfig,
} from '../../host/src/voice/config';
import { Secret } from '../../host/src/voice/secret';
import { VoiceError } from '../../host/src/voice/types';
import {
  below,
  jsonText,
  mutateBytes,
  mutateJson,
  mutateString,
  pick,
  utf8,
  type JsonMutation,
  type Rand,
  type Target,
} from './fuzz';

/** The API key of every seed: no message may show it. */
const KEY = 'sk-fuzz-CANARY-5e1f';

/** A voice section setting every key (the defaults' where one is as good as another). */
const VOICE_FULL = {
  ...DEFAULT_VOICE_CONFIG,
  adapter: 'rest',
  baseUrl: 'http://127.0.0.1:9/v1',
  apiKey: KEY,
  models: { ...DEFAULT_VOICE_CONFIG.models, chat: 'llama3' },
  language: 'en-GB',
  speechFormat: 'wav',
  timeouts: { requestMs: 1000, idleMs: 2000 },
  realtimeUrl: 'ws://127.0.0.1:9/v1/realtime',
  realtimeProtocol: 'beta',
  sttSampleRate: 16000,
  endpoints: { stt: 'http://127.0.0.1:10/v1', chat: 'https://chat.example/v1', tts: 'http://127.0.0.1:9/v1' },
};

const FILES: unknown[] = [
  {},
  {
    $schema: './budlink.schema.json',
    link: 'in-process',
    devices: ['AA:BB:CC:DD:EE:FF', '11:22:33:44:55:66'],
    namePrefix: 'Budlink',
    scanTimeoutMs: 5000,
    connectTimeoutMs: 10000,
    reconnect: { initialDelayMs: 500, maxDelayMs: 30000 },
    session: { ...DEFAULT_CONFIG.session, wakeVerifier: 'energy', keepAliveMs: 2000 },
    log: { level: 'debug', json: true },
    voice: VOICE_FULL,
  },
  { link: 'node-ble', voice: { adapter: 'realtime', apiKey: KEY, timeouts: { idleMs: 500 } } },
  { session: { maxUtterancesPerMinute: 0, ackEveryFrames: 1 }, log: { json: false } },
  { reconnect: { initialDelayMs: 1000, maxDelayMs: 2000 }, voice: { baseUrl: 'https://api.openai.com/v1' } },
];

const ENV_SEEDS: Record<string, string> = {
  BUDLINK_LINK: 'node-ble',
  BUDLINK_DEVICES: 'AA:BB:CC:DD:EE:FF, 11:22:33:44:55:66',
  BUDLINK_NAME_PREFIX: 'Bud',
  BUDLINK_SCAN_TIMEOUT_MS: '4000',
  BUDLINK_KEEPALIVE_MS: ' 2000 ',
  BUDLINK_WAKE_VERIFIER: 'energy',
  BUDLINK_LOG_LEVEL: 'warn',
  BUDLINK_LOG_JSON: 'yes',
  OPENAI_API_KEY: KEY,
  OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
  BUDLINK_VOICE: 'realtime',
  BUDLINK_TIMEOUT_MS: '500',
  BUDLINK_MAX_RETRIES: '0',
  BUDLINK_REALTIME_PROTOCOL: 'GA',
  BUDLINK_STT_SAMPLE_RATE: '16000',
  BUDLINK_LANGUAGE: 'de',
  BUDLINK_TTS_BASE_URL: 'http://127.0.0.1:11/v1',
  BUDLINK_CONFIG: 'budlink.config.json',
};

/** Every key of the schema, at any level (a structural edit adds one of these most of the time). */
function keysOf(v: unknown, out = new Set<string>()): Set<string> {
  if (typeof v === 'object' && v !== null && !Array.isArray(v))
    for (const [k, x] of Object.entries(v)) {
      out.add(k);
      keysOf(x, out);
    }
  return out;
}

const MUTATION: JsonMutation = {
  keys: [...keysOf(FILES[1]), ...keysOf(DEFAULT_VOICE_CONFIG)],
  strings: [
    ...['auto', 'node-ble', 'in-process', 'accept', 'energy', 'debug', 'info', 'warn', 'error'],
    ...['rest', 'realtime', 'loopback', 'pcm', 'wav', 'ga', 'beta', 'en', 'zh-Hant-TW', 'x1'],
    ...[
      'wss://api.example/v1/realtime',
      'ftp://127.0.0.1/',
      'http://[::1]:9/v1',
      'https://api.openai.com/v1/',
    ],
    KEY,
    `${KEY} x`,
  ],
  numbers: [0, 1, 99, 100, 255, 600, 601, 1000, 1001, 4000, 48000, 48001, 65535, 192000, 300000, 600000],
};

/** Environment variables both modules read. */
const ENV_NAMES = [...Object.keys(ENV_KEYS), ...Object.keys(VOICE_ENV_KEYS), 'BUDLINK_CONFIG'];

function mutateEnv(r: Rand): Record<string, string> {
  const env: Record<string, string> = {};
  const n = below(r, 4);
  for (let i = 0; i < n; i++) {
    const name = pick(r, ENV_NAMES);
    const seed = ENV_SEEDS[name] ?? pick(r, MUTATION.strings);
    env[name] =
      r() < 0.5 ? seed : mutateString(r, seed, [...MUTATION.strings, ...MUTATION.numbers.map(String), ' ']);
  }
  return env;
}

/** A voice or config file value: a seed, most times edited. */
function mutateValue(r: Rand, seeds: readonly unknown[]): unknown {
  const base = pick(r, seeds);
  return r() < 0.1 ? base : mutateJson(r, base, MUTATION);
}

// ---- what a loaded configuration must be ---------------------------------------------------------

function fail(what: string): never {
  throw new Error(`accepted a configuration with ${what}`);
}

const isInt = (v: unknown, lo: number, hi: number): boolean =>
  typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

/** Own keys of `v` are the defaults' keys (plus `extra`), each of the default's type. */
function sameShape(value: object, dflt: object, where: string, extra: string[] = []): void {
  const v = value as Record<string, unknown>;
  const d = dflt as Record<string, unknown>;
  for (const k of Object.keys(v)) {
    if (!Object.hasOwn(d, k) && !extra.includes(k)) fail(`the unknown key '${where}${k}'`);
    if (Object.hasOwn(d, k) && typeof v[k] !== typeof d[k]) fail(`'${where}${k}' of type ${typeof v[k]}`);
  }
}

function checkUrl(v: unknown, schemes: string[], where: string): void {
  if (typeof v !== 'string') return fail(`${where} not a string`);
  const u = URL.canParse(v) ? new URL(v) : undefined;
  if (!u || !schemes.includes(u.protocol) || u.username || u.password) fail(`${where} = ${v}`);
}

/** The loaded voice config is in every key's documented domain. */
function checkVoiceConfig(c: VoiceConfig): void {
  const optional = ['apiKey', 'keyWithheld', 'language', 'realtimeUrl', 'endpoints', 'sttSampleRate'];
  sameShape(c, DEFAULT_VOICE_CONFIG, 'voice.', optional);
  for (const k of ['models', 'timeouts', 'retry'] as const)
    sameShape(c[k], DEFAULT_VOICE_CONFIG[k], `voice.${k}.`);
  if (!['rest', 'realtime', 'loopback'].includes(c.adapter)) fail(`adapter ${c.adapter}`);
  if (!['pcm', 'wav'].includes(c.speechFormat) || !['ga', 'beta'].includes(c.realtimeProtocol))
    fail('a bad enum');
  checkUrl(c.baseUrl, ['http:', 'https:'], 'baseUrl');
  for (const s of [...Object.values(c.models), c.voice, c.systemPrompt])
    if (typeof s !== 'string' || s.trim() !== s || s === '') fail(`the string ${JSON.stringify(s)}`);
  const ranges: [unknown, number, number][] = [
    [c.pcmSampleRate, 4000, 192000],
    [c.timeouts.requestMs, 1, 600000],
    [c.timeouts.idleMs, 1, 600000],
    [c.retry.maxRetries, 0, 10],
    [c.retry.baseDelayMs, 0, 60000],
    [c.retry.maxDelayMs, 0, 300000],
    [c.maxHistoryMessages, 0, 1000],
    [c.sttSampleRate ?? 16000, 4000, 48000],
  ];
  for (const [x, lo, hi] of ranges) if (!isInt(x, lo, hi)) fail(`${String(x)} outside ${lo}..${hi}`);
  if (
    c.apiKey !== undefined &&
    (!(c.apiKey instanceof Secret) || /\s/.test(c.apiKey.reveal()) || c.apiKey.empty)
  )
    fail('a bad API key');
  if (c.language !== undefined && !/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/.test(c.language))
    fail('a bad language');
  if (c.realtimeUrl !== undefined) checkUrl(c.realtimeUrl, ['ws:', 'wss:'], 'realtimeUrl');
  for (const [k, u] of Object.entries(c.endpoints ?? {})) {
    if (!['stt', 'chat', 'tts'].includes(k)) fail(`the endpoint ${k}`);
    checkUrl(u, ['http:', 'https:'], `endpoints.${k}`);
  }
}

/** The loaded bridge config: known keys only, each in its schema's domain. */
function checkConfig(c: BudlinkConfig): void {
  sameShape(c, DEFAULT_CONFIG, '', ['voice']);
  for (const k of ['reconnect', 'session', 'log'] as const) sameShape(c[k], DEFAULT_CONFIG[k], `${k}.`);
  if (!c.devices.every((d) => /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(d))) fail('a bad address');
  if (c.reconnect.maxDelayMs < c.reconnect.initialDelayMs) fail('maxDelayMs < initialDelayMs');
  const { wakeVerifier, ...durations } = c.session;
  const ints = [
    c.scanTimeoutMs,
    c.connectTimeoutMs,
    ...Object.values(c.reconnect),
    ...Object.values(durations),
  ];
  if (!ints.every((v) => isInt(v, 0, 600000))) fail('a duration outside 0..600000');
  const enums: [string, string[]][] = [
    [c.link, ['auto', 'node-ble', 'in-process']],
    [c.log.level, ['debug', 'info', 'warn', 'error']],
    [wakeVerifier, ['accept', 'energy']],
  ];
  for (const [v, allowed] of enums) if (!allowed.includes(v)) fail(`the value ${v}`);
}

/**
 * A refusal: the documented error type, and a message about the API key that does not show it (the
 * same text under another key is just a wrong value, and may be shown).
 */
function checkRefusal(e: unknown, ok: (e: unknown) => boolean): 'refused' {
  if (!ok(e)) throw e;
  const m = (e as Error).message;
  if (/voice config: (apiKey|OPENAI_API_KEY) /.test(m) && m.includes(KEY))
    throw new Error(`the message shows the API key: ${m}`);
  return 'refused';
}

interface FileCase {
  /** The file's bytes; no file when undefined. */
  file: Uint8Array | undefined;
  /** The file named with --config (else found in the working directory). */
  explicit: boolean;
  env: Record<string, string>;
  /** Command-line flags, in the file's shape. */
  overrides?: Record<string, unknown>;
}

export const configFileTarget: Target<FileCase> = {
  name: 'config_file',
  sources: [
    {
      file: 'host/src/config/config.ts',
      functions: [
        'loadConfig',
        'check',
        'checkVoiceKeys',
        'unknownKey',
        'typeName',
        'merge',
        'envValue',
        'setPath',
        'isRecord',
      ],
    },
  ],
  open(r) {
    // tmpfs where there is one: a file written and read per case costs ~0.4 ms on a disk-backed /tmp
    const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'budlink-fuzz-'));
    const path = join(dir, 'budlink.config.json');
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const corpus = FILES.map((f) => utf8(JSON.stringify(f)));
    return {
      next: () => {
        const env = mutateEnv(r);
        const c: FileCase = { file: undefined, explicit: r() < 0.5, env };
        if (r() < 0.1) c.overrides = mutateValue(r, FILES) as Record<string, unknown>;
        if (r() < 0.05) return c;
        const text = utf8(jsonText(r, mutateValue(r, FILES)));
        c.file = r() < 0.25 ? mutateBytes(r, text, { corpus, maxLength: 8192 }) : text;
        return c;
      },
      check: ({ file, explicit, env, overrides }) => {
        if (file) writeFileSync(path, file);
        const where = file ? (explicit ? { path, cwd: dir } : { cwd: dir }) : { cwd: empty };
        let loaded;
        try {
          loaded = loadConfig({ ...where, env, ...(overrides === undefined ? {} : { overrides }) });
        } catch (e) {
          return checkRefusal(e, (x) => x instanceof ConfigError);
        }
        checkConfig(loaded.config);
        checkVoiceConfig(loaded.voice);
        return 'accepted';
      },
      close: () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  show: (c) =>
    `${c.file ? Buffer.from(c.file).toString('utf8') : '(no file)'}${c.explicit ? ' (--config)' : ''} with environment ` +
    `${JSON.stringify(c.env)}${c.overrides === undefined ? '' : ` and flags ${JSON.stringify(c.overrides)}`}`,
};

interface VoiceCase {
  env: Record<string, string>;
  file: unknown;
}

export const voiceConfigTarget: Target<VoiceCase> = {
  name: 'voice_config',
  sources: [
    {
      file: 'host/src/voice/config.ts',
      functions: [
        'voiceConfigFromEnv',
        'flattenFile',
        'pick',
        'str',
        'int',
        'oneOf',
        'url',
        'withheldKey',
        'fail',
        'isRecord',
      ],
    },
  ],
  open(r) {
    const seeds = [
      undefined,
      ...FILES.map((f) => (f as { voice?: unknown }).voice).filter((v) => v !== undefined),
    ];
    return {
      next: () => ({ env: mutateEnv(r), file: r() < 0.1 ? undefined : mutateValue(r, seeds) }),
      check: ({ env, file }) => {
        let c: VoiceConfig;
        try {
          c = voiceConfigFromEnv(env, file);
        } catch (e) {
          return checkRefusal(e, (x) => x instanceof VoiceError && x.kind === 'config');
        }
        checkVoiceConfig(c);
        return 'accepted';
      },
    };
  },
  show: (c) => `file ${JSON.stringify(c.file)} with environment ${JSON.stringify(c.env)}`,
};
