/**
 * Voice service configuration from a config file object and the environment (environment wins).
 * Every validation error is a VoiceError of kind 'config' naming the offending key.
 */
import { localToolsOnPath } from './local-tools';
import { Secret } from './secret';
import { VoiceError } from './types';

export type VoiceAdapterKind = 'rest' | 'realtime' | 'loopback' | 'doubao' | 'local';
export type SpeechFormat = 'pcm' | 'wav';
/** Realtime API generation: 'ga' (session.audio.*, response.output_audio.*) or the older 'beta'. */
export type RealtimeProtocol = 'ga' | 'beta';
/** OpenAI-compatible chat services known by name (VOICE_PRESETS). */
export type VoicePreset = 'ark' | 'qianfan';
/** Doubao end-to-end model versions the documentation enumerates: O2.0 and SC2.0. */
export type DoubaoModel = '1.2.1.1' | '2.2.0.0';

/** Volcengine's Doubao end-to-end realtime speech dialogue (adapter 'doubao'). */
export interface DoubaoConfig {
  /** wss://openspeech.bytedance.com/api/v3/realtime/dialogue */
  url: string;
  /** X-Api-App-ID: the console's APP ID. */
  appId?: string;
  /** X-Api-Access-Key: the console's Access Token. */
  accessKey?: Secret;
  /** X-Api-Resource-Id; the documentation's fixed value is volc.speech.dialog. */
  resourceId: string;
  /** StartSession dialog.extra.model (required by the service). */
  model: DoubaoModel;
  /** StartSession tts.speaker. */
  speaker: string;
}

/**
 * The OpenAI-compatible chat services a preset names, as their documentation gives them: the base
 * URL (the key goes there as `Authorization: Bearer <key>`, which both document) and, where the
 * documentation's own example names one, a chat model. Both pages show chat completions only (no
 * audio endpoints), so a preset needs STT and TTS servers of their own (endpoints.stt and .tts).
 */
export const VOICE_PRESETS: Record<VoicePreset, { baseUrl: string; chatModel?: string; model: string }> = {
  // Volcengine Ark, "Base URL及鉴权" (docs 82379/1298459): model = a Model ID or an endpoint ID.
  ark: {
    baseUrl: 'https://ark.cn-beijing.volces.com/api/v3',
    model: 'an Ark Model ID or endpoint ID (ep-…)',
  },
  // Baidu Qianfan ModelBuilder, "OpenAI SDK兼容介绍" and its quick start (model ernie-3.5-8k).
  qianfan: {
    baseUrl: 'https://qianfan.baidubce.com/v2',
    chatModel: 'ernie-3.5-8k',
    model: 'a Qianfan model',
  },
};

export interface VoiceModels {
  /** POST /audio/transcriptions model. */
  stt: string;
  /** POST /chat/completions model. */
  chat: string;
  /** POST /audio/speech model. */
  tts: string;
  /** Realtime session model. */
  realtime: string;
}

export interface VoiceTimeouts {
  /** Longest wait for a response's headers (and for a WebSocket to open). */
  requestMs: number;
  /** Longest silence inside a streamed body / realtime response before giving up. */
  idleMs: number;
}

export interface RetryPolicy {
  /** Retries after the first attempt, for 429, 5xx and network errors before any data arrived. */
  maxRetries: number;
  /** First backoff for 5xx / network errors; doubles each retry (with jitter), capped at maxDelayMs. */
  baseDelayMs: number;
  /** Cap for any single wait, including a server's Retry-After. */
  maxDelayMs: number;
}

export interface VoiceConfig {
  adapter: VoiceAdapterKind;
  /** The named chat service that gave baseUrl (and maybe the chat model) their defaults. */
  preset?: VoicePreset;
  /** OpenAI-compatible API root including the version path, e.g. https://api.openai.com/v1. */
  baseUrl: string;
  /** Bearer token; omitted for local servers that need none. */
  apiKey?: Secret;
  /**
   * Why the environment's key is not used (undefined: it is, or there is none): the config file
   * moved baseUrl to another origin than the environment's (or the default's), and a key set for
   * one service is never sent to another that a file in the working directory names. The same holds
   * for the Doubao access key and doubao.url.
   */
  keyWithheld?: string;
  models: VoiceModels;
  /** TTS / realtime voice name. */
  voice: string;
  /** ISO-639-1 hint for transcription (optional). */
  language?: string;
  systemPrompt: string;
  /** response_format asked of /audio/speech. */
  speechFormat: SpeechFormat;
  /** Rate of raw 'pcm' speech when the server states none (OpenAI documents 24 kHz s16le). */
  pcmSampleRate: number;
  timeouts: VoiceTimeouts;
  retry: RetryPolicy;
  /** User+assistant messages kept per device (oldest dropped first; the system prompt is extra). */
  maxHistoryMessages: number;
  /** Realtime WebSocket URL; default derived from baseUrl (https→wss) + /realtime?model=. */
  realtimeUrl?: string;
  /** Which session.update shape to send (events of both generations are always understood). */
  realtimeProtocol: RealtimeProtocol;
  /**
   * Per-endpoint base URLs, to mix servers (e.g. speaches for STT, Ollama for chat, Kokoro for
   * speech). Unset ones use baseUrl. The API key is sent only to endpoints on baseUrl's origin.
   */
  endpoints?: { stt?: string; chat?: string; tts?: string };
  /**
   * Rate of the WAV uploaded for transcription. Unset: the utterance's own rate (no resampling on
   * the critical path; OpenAI, speaches, LocalAI and Ollama accept any rate). Set 16000 for servers
   * that insist on 16 kHz (whisper.cpp's server without --convert).
   */
  sttSampleRate?: number;
  doubao: DoubaoConfig;
}

export const DEFAULT_VOICE_CONFIG: VoiceConfig = {
  adapter: 'loopback',
  baseUrl: 'https://api.openai.com/v1',
  models: {
    stt: 'gpt-4o-mini-transcribe',
    chat: 'gpt-4o-mini',
    tts: 'gpt-4o-mini-tts',
    realtime: 'gpt-realtime',
  },
  voice: 'alloy',
  systemPrompt:
    'You are a voice assistant speaking through a small earbud. Answer briefly in plain spoken sentences, ' +
    'without markdown, lists or emoji.',
  speechFormat: 'pcm',
  pcmSampleRate: 24000,
  timeouts: { requestMs: 15000, idleMs: 15000 },
  retry: { maxRetries: 2, baseDelayMs: 250, maxDelayMs: 5000 },
  maxHistoryMessages: 20,
  realtimeProtocol: 'ga',
  doubao: {
    url: 'wss://openspeech.bytedance.com/api/v3/realtime/dialogue',
    resourceId: 'volc.speech.dialog',
    model: '1.2.1.1',
    speaker: 'zh_female_vv_jupiter_bigtts',
  },
};

/** Environment variables read by voiceConfigFromEnv, with the config-file key each overrides. */
export const VOICE_ENV_KEYS = {
  OPENAI_API_KEY: 'apiKey',
  OPENAI_BASE_URL: 'baseUrl',
  BUDLINK_VOICE: 'adapter',
  BUDLINK_STT_MODEL: 'models.stt',
  BUDLINK_CHAT_MODEL: 'models.chat',
  BUDLINK_TTS_MODEL: 'models.tts',
  BUDLINK_REALTIME_MODEL: 'models.realtime',
  BUDLINK_TTS_VOICE: 'voice',
  BUDLINK_LANGUAGE: 'language',
  BUDLINK_SYSTEM_PROMPT: 'systemPrompt',
  BUDLINK_SPEECH_FORMAT: 'speechFormat',
  BUDLINK_PCM_SAMPLE_RATE: 'pcmSampleRate',
  BUDLINK_TIMEOUT_MS: 'timeouts.requestMs',
  BUDLINK_IDLE_TIMEOUT_MS: 'timeouts.idleMs',
  BUDLINK_MAX_RETRIES: 'retry.maxRetries',
  BUDLINK_RETRY_BASE_MS: 'retry.baseDelayMs',
  BUDLINK_RETRY_MAX_MS: 'retry.maxDelayMs',
  BUDLINK_MAX_HISTORY: 'maxHistoryMessages',
  BUDLINK_REALTIME_URL: 'realtimeUrl',
  BUDLINK_REALTIME_PROTOCOL: 'realtimeProtocol',
  BUDLINK_STT_SAMPLE_RATE: 'sttSampleRate',
  BUDLINK_STT_BASE_URL: 'endpoints.stt',
  BUDLINK_CHAT_BASE_URL: 'endpoints.chat',
  BUDLINK_TTS_BASE_URL: 'endpoints.tts',
  BUDLINK_VOICE_PRESET: 'preset',
  BUDLINK_DOUBAO_URL: 'doubao.url',
  BUDLINK_DOUBAO_APP_ID: 'doubao.appId',
  BUDLINK_DOUBAO_ACCESS_KEY: 'doubao.accessKey',
  BUDLINK_DOUBAO_RESOURCE_ID: 'doubao.resourceId',
  BUDLINK_DOUBAO_MODEL: 'doubao.model',
  BUDLINK_DOUBAO_SPEAKER: 'doubao.speaker',
} as const;

type EnvName = keyof typeof VOICE_ENV_KEYS;

function fail(key: string, message: string): never {
  throw new VoiceError('config', `voice config: ${key} ${message}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every key the voice section of a config file may have (top level). */
export const VOICE_FILE_KEYS: readonly string[] = [
  'adapter',
  'baseUrl',
  'apiKey',
  'models',
  'voice',
  'language',
  'systemPrompt',
  'speechFormat',
  'pcmSampleRate',
  'timeouts',
  'retry',
  'maxHistoryMessages',
  'realtimeUrl',
  'realtimeProtocol',
  'sttSampleRate',
  'endpoints',
  'doubao',
  'preset',
];

/** Keys of the voice section's doubao object. */
export const DOUBAO_FILE_KEYS: readonly string[] = [
  'url',
  'appId',
  'accessKey',
  'resourceId',
  'model',
  'speaker',
];

const FILE_KEYS = new Set(VOICE_FILE_KEYS);

/** Flatten the file object into dotted keys, rejecting unknown keys (typos are errors). */
function flattenFile(file: unknown): Map<string, unknown> {
  const out = new Map<string, unknown>();
  if (file === undefined) return out;
  if (!isRecord(file)) fail('(file)', 'must be an object');
  for (const [k, v] of Object.entries(file)) {
    if (!FILE_KEYS.has(k)) fail(k, 'is not a known voice setting');
    if (k === 'models' || k === 'timeouts' || k === 'retry' || k === 'endpoints' || k === 'doubao') {
      if (!isRecord(v)) fail(k, 'must be an object');
      const allowed =
        k === 'endpoints'
          ? ['stt', 'chat', 'tts']
          : k === 'doubao'
            ? DOUBAO_FILE_KEYS
            : Object.keys(
                (DEFAULT_VOICE_CONFIG as unknown as Record<string, Record<string, unknown>>)[k] as object,
              );
      for (const [k2, v2] of Object.entries(v)) {
        if (!allowed.includes(k2)) fail(`${k}.${k2}`, 'is not a known voice setting');
        out.set(`${k}.${k2}`, v2);
      }
    } else {
      out.set(k, v);
    }
  }
  return out;
}

interface Source {
  value: unknown;
  /** How to name it in errors: the env variable or the file key. */
  label: string;
}

function pick(
  env: Record<string, string | undefined>,
  file: Map<string, unknown>,
  key: string,
): Source | undefined {
  for (const [name, k] of Object.entries(VOICE_ENV_KEYS)) {
    if (k !== key) continue;
    const v = env[name as EnvName];
    if (v !== undefined && v !== '') return { value: v, label: name };
  }
  if (file.has(key)) return { value: file.get(key), label: key };
  return undefined;
}

function str(s: Source | undefined, dflt: string): string {
  if (!s) return dflt;
  if (typeof s.value !== 'string' || s.value.trim() === '') fail(s.label, 'must be a non-empty string');
  return s.value.trim();
}

function int(s: Source | undefined, dflt: number, min: number, max: number): number {
  if (!s) return dflt;
  const n = typeof s.value === 'string' && /^\s*-?\d+\s*$/.test(s.value) ? Number(s.value) : s.value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    fail(s.label, `must be an integer from ${String(min)} to ${String(max)}, got ${JSON.stringify(s.value)}`);
  }
  return n;
}

function oneOf<T extends string>(s: Source | undefined, dflt: T, allowed: readonly T[]): T {
  if (!s) return dflt;
  const v = typeof s.value === 'string' ? s.value.trim().toLowerCase() : s.value;
  if (!allowed.includes(v as T)) {
    fail(s.label, `must be one of ${allowed.join(', ')}, got ${JSON.stringify(s.value)}`);
  }
  return v as T;
}

function url(
  s: Source | undefined,
  dflt: string | undefined,
  schemes: string[],
  keyName = 'OPENAI_API_KEY',
): string | undefined {
  if (!s) return dflt;
  const v = str(s, '');
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return fail(s.label, `must be an absolute URL, got ${JSON.stringify(v)}`);
  }
  if (!schemes.includes(u.protocol)) fail(s.label, `must use ${schemes.join(' or ')}, got ${u.protocol}`);
  if (u.username || u.password) fail(s.label, `must not embed credentials; use ${keyName}`);
  return v.replace(/\/+$/, '');
}

/** Where a key goes: the URL setting, its environment variable and default, the file's own key. */
interface KeyTarget {
  urlEnv: 'OPENAI_BASE_URL' | 'BUDLINK_DOUBAO_URL';
  urlDefault: string;
  fileKey: string;
}

/**
 * A key from the environment goes where the environment says (OPENAI_BASE_URL, else the default
 * base URL; BUDLINK_DOUBAO_URL for the Doubao access key): when only the config file moves the URL to
 * another origin, the key is withheld, and the message says why and how to send a key there on purpose.
 */
function withheldKey(
  keyLabel: string,
  urlSrc: Source | undefined,
  target: string,
  env: Record<string, string | undefined>,
  t: KeyTarget = { urlEnv: 'OPENAI_BASE_URL', urlDefault: DEFAULT_VOICE_CONFIG.baseUrl, fileKey: 'apiKey' },
): string | undefined {
  if (!(keyLabel in VOICE_ENV_KEYS) || urlSrc === undefined || urlSrc.label in VOICE_ENV_KEYS)
    return undefined;
  const envBase = env[t.urlEnv]?.trim() || t.urlDefault;
  const origin = (u: string): string => new URL(u.replace(/^ws/, 'http')).origin;
  const to = origin(target);
  if (origin(envBase) === to) return undefined;
  return (
    `${keyLabel} is not sent to ${to}: the config file's voice.${urlSrc.label} moved requests there, and a ` +
    `key from the environment goes only to ${origin(envBase)}. To use a key with that service, set ` +
    `${t.urlEnv}=${target} in the environment, or voice.${t.fileKey} in the config file`
  );
}

/** The key may go with a request to `url`: same host and port as baseUrl (ws/wss count as http/https). */
export function keyGoesTo(cfg: VoiceConfig, url: string): boolean {
  const a = new URL(url);
  const b = new URL(cfg.baseUrl);
  const scheme = (u: URL): string => u.protocol.replace(/^ws/, 'http');
  return scheme(a) === scheme(b) && a.host === b.host;
}

/**
 * Build a VoiceConfig from environment variables (see VOICE_ENV_KEYS) over an optional config-file
 * object with the same shape as VoiceConfig (apiKey as a plain string there). When BUDLINK_VOICE /
 * adapter is not set, the adapter is 'rest' if an API key or base URL is configured, else 'local' when
 * pocketsphinx_continuous and espeak-ng are both on env.PATH, else 'loopback'.
 */
export function voiceConfigFromEnv(
  env: Record<string, string | undefined>,
  fileConfig?: unknown,
): VoiceConfig {
  const file = flattenFile(fileConfig);
  const d = DEFAULT_VOICE_CONFIG;
  const keySrc = pick(env, file, 'apiKey');
  let apiKey: Secret | undefined;
  if (keySrc) {
    if (typeof keySrc.value !== 'string') fail(keySrc.label, 'must be a string');
    const k = keySrc.value.trim();
    // Never echo the value: it is the secret.
    if (/\s/.test(k)) fail(keySrc.label, 'must not contain whitespace');
    if (k !== '') apiKey = new Secret(k);
  }
  const presetSrc = pick(env, file, 'preset');
  const preset = presetSrc ? oneOf<VoicePreset>(presetSrc, 'ark', ['ark', 'qianfan']) : undefined;
  // A preset's base URL counts as set where the preset is (environment or file: keyWithheld).
  const baseSrc =
    pick(env, file, 'baseUrl') ??
    (preset && presetSrc ? { value: VOICE_PRESETS[preset].baseUrl, label: presetSrc.label } : undefined);
  const baseUrl = url(baseSrc, d.baseUrl, ['http:', 'https:']) as string;
  const adapterSrc = pick(env, file, 'adapter');
  const dflt = apiKey || baseSrc ? 'rest' : localToolsOnPath(env) ? 'local' : 'loopback';
  const adapter = oneOf<VoiceAdapterKind>(adapterSrc, dflt, [
    'rest',
    'realtime',
    'loopback',
    'doubao',
    'local',
  ]);
  const languageSrc = pick(env, file, 'language');
  const language = languageSrc ? str(languageSrc, '') : undefined;
  if (language !== undefined && !/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$/.test(language)) {
    fail(
      (languageSrc as Source).label,
      `must be a language code like "en" or "de", got ${JSON.stringify(language)}`,
    );
  }
  const cfg: VoiceConfig = {
    adapter,
    baseUrl,
    models: {
      stt: str(pick(env, file, 'models.stt'), d.models.stt),
      chat: str(pick(env, file, 'models.chat'), (preset && VOICE_PRESETS[preset].chatModel) || d.models.chat),
      tts: str(pick(env, file, 'models.tts'), d.models.tts),
      realtime: str(pick(env, file, 'models.realtime'), d.models.realtime),
    },
    voice: str(pick(env, file, 'voice'), d.voice),
    systemPrompt: str(pick(env, file, 'systemPrompt'), d.systemPrompt),
    speechFormat: oneOf<SpeechFormat>(pick(env, file, 'speechFormat'), d.speechFormat, ['pcm', 'wav']),
    pcmSampleRate: int(pick(env, file, 'pcmSampleRate'), d.pcmSampleRate, 4000, 192000),
    timeouts: {
      requestMs: int(pick(env, file, 'timeouts.requestMs'), d.timeouts.requestMs, 1, 600000),
      idleMs: int(pick(env, file, 'timeouts.idleMs'), d.timeouts.idleMs, 1, 600000),
    },
    retry: {
      maxRetries: int(pick(env, file, 'retry.maxRetries'), d.retry.maxRetries, 0, 10),
      baseDelayMs: int(pick(env, file, 'retry.baseDelayMs'), d.retry.baseDelayMs, 0, 60000),
      maxDelayMs: int(pick(env, file, 'retry.maxDelayMs'), d.retry.maxDelayMs, 0, 300000),
    },
    maxHistoryMessages: int(pick(env, file, 'maxHistoryMessages'), d.maxHistoryMessages, 0, 1000),
    realtimeProtocol: oneOf<RealtimeProtocol>(pick(env, file, 'realtimeProtocol'), d.realtimeProtocol, [
      'ga',
      'beta',
    ]),
    doubao: { ...d.doubao },
  };
  const withheld = apiKey && keySrc ? withheldKey(keySrc.label, baseSrc, baseUrl, env) : undefined;
  if (withheld !== undefined) cfg.keyWithheld = withheld;
  else if (apiKey) cfg.apiKey = apiKey;
  doubaoFrom(env, file, cfg);
  if (language !== undefined) cfg.language = language;
  const endpoints: { stt?: string; chat?: string; tts?: string } = {};
  for (const k of ['stt', 'chat', 'tts'] as const) {
    const v = url(pick(env, file, `endpoints.${k}`), undefined, ['http:', 'https:']);
    if (v !== undefined) endpoints[k] = v;
  }
  if (Object.keys(endpoints).length > 0) cfg.endpoints = endpoints;
  const sttRateSrc = pick(env, file, 'sttSampleRate');
  if (sttRateSrc) cfg.sttSampleRate = int(sttRateSrc, 16000, 4000, 48000);
  const rt = url(pick(env, file, 'realtimeUrl'), undefined, ['ws:', 'wss:']);
  if (rt !== undefined) cfg.realtimeUrl = rt;
  if (preset && presetSrc) usePreset(cfg, preset, presetSrc, pick(env, file, 'models.chat') !== undefined);
  return cfg;
}

/**
 * A preset serves the REST adapter's chat: it needs its own chat model where the documentation shows
 * none to default to, and transcription and speech servers elsewhere.
 */
function usePreset(cfg: VoiceConfig, preset: VoicePreset, src: Source, chatSet: boolean): void {
  const p = VOICE_PRESETS[preset];
  if (cfg.adapter !== 'rest')
    fail(src.label, `${preset} is a chat service for the rest adapter, not for adapter ${cfg.adapter}`);
  if (!chatSet && p.chatModel === undefined)
    fail(src.label, `${preset} needs models.chat (BUDLINK_CHAT_MODEL): ${p.model}`);
  const missing = (['stt', 'tts'] as const).filter((k) => cfg.endpoints?.[k] === undefined);
  if (missing.length > 0) {
    fail(
      src.label,
      `${preset} serves chat only: set ${missing.map((k) => `endpoints.${k}`).join(' and ')} ` +
        `(${missing.map((k) => `BUDLINK_${k.toUpperCase()}_BASE_URL`).join(', ')}) to servers for ` +
        'transcription and speech',
    );
  }
  cfg.preset = preset;
}

/** A non-empty string without whitespace (an id, a name, a secret: the value is never echoed). */
function token(s: Source, asSecret = false): string {
  if (typeof s.value === 'number' && Number.isInteger(s.value) && s.value > 0 && !asSecret)
    return String(s.value);
  const v = str(s, '');
  if (/\s/.test(v)) fail(s.label, 'must not contain whitespace');
  return v;
}

/** The doubao.* settings; with adapter 'doubao' the app id and access key are required. */
function doubaoFrom(
  env: Record<string, string | undefined>,
  file: Map<string, unknown>,
  cfg: VoiceConfig,
): void {
  const d = DEFAULT_VOICE_CONFIG.doubao;
  const o = cfg.doubao;
  const urlSrc = pick(env, file, 'doubao.url');
  o.url = url(urlSrc, d.url, ['ws:', 'wss:'], 'BUDLINK_DOUBAO_ACCESS_KEY') as string;
  const appIdSrc = pick(env, file, 'doubao.appId');
  if (appIdSrc) o.appId = token(appIdSrc);
  const resourceSrc = pick(env, file, 'doubao.resourceId');
  if (resourceSrc) o.resourceId = token(resourceSrc);
  const speakerSrc = pick(env, file, 'doubao.speaker');
  if (speakerSrc) o.speaker = token(speakerSrc);
  o.model = oneOf<DoubaoModel>(pick(env, file, 'doubao.model'), d.model, ['1.2.1.1', '2.2.0.0']);
  const keySrc = pick(env, file, 'doubao.accessKey');
  let withheld: string | undefined;
  if (keySrc) {
    if (typeof keySrc.value !== 'string') fail(keySrc.label, 'must be a string');
    const key = token(keySrc, true);
    withheld = withheldKey(keySrc.label, urlSrc, o.url, env, {
      urlEnv: 'BUDLINK_DOUBAO_URL',
      urlDefault: d.url,
      fileKey: 'doubao.accessKey',
    });
    if (withheld === undefined) o.accessKey = new Secret(key);
    else cfg.keyWithheld = cfg.keyWithheld === undefined ? withheld : `${cfg.keyWithheld}; ${withheld}`;
  }
  if (cfg.adapter !== 'doubao') return;
  if (o.appId === undefined)
    fail('doubao.appId', 'is required by adapter doubao (set BUDLINK_DOUBAO_APP_ID or voice.doubao.appId)');
  if (o.accessKey === undefined) {
    fail(
      'doubao.accessKey',
      withheld !== undefined
        ? `is withheld: ${withheld}`
        : 'is required by adapter doubao (set BUDLINK_DOUBAO_ACCESS_KEY or voice.doubao.accessKey)',
    );
  }
}

/** The realtime WebSocket URL for a config. */
export function realtimeUrlOf(cfg: VoiceConfig): string {
  let u: URL;
  if (cfg.realtimeUrl) {
    u = new URL(cfg.realtimeUrl);
  } else {
    u = new URL(cfg.baseUrl + '/realtime');
    u.protocol = u.protocol === 'http:' ? 'ws:' : 'wss:';
  }
  if (!u.searchParams.has('model')) u.searchParams.set('model', cfg.models.realtime);
  return u.toString();
}
