/**
 * The "voice" section of budlink.config.json accepts every key docs/VOICE.md documents (the config
 * loader takes its key list from the voice module, VOICE_FILE_KEYS), and refuses a typo with a
 * did-you-mean hint that names the file.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../../host/src/config/index';
import { VOICE_FILE_KEYS, type VoiceConfig } from '../../../host/src/voice/index';

const VOICE_DOC = fileURLToPath(new URL('../../../docs/VOICE.md', import.meta.url));

/** Dotted file keys from the "file key" table of docs/VOICE.md, plus the `endpoints.*` it describes. */
function documentedVoiceKeys(): string[] {
  const text = readFileSync(VOICE_DOC, 'utf8');
  const start = text.indexOf('| file key');
  expect(start, 'docs/VOICE.md has a "file key" table').to.be.greaterThan(-1);
  const keys: string[] = [];
  for (const line of text.slice(start).split('\n').slice(2)) {
    const m = /^\|\s*`([A-Za-z.]+)`\s*\|/.exec(line);
    if (!m) break;
    keys.push(m[1] as string);
  }
  if (/`endpoints\.\*`/.test(text)) keys.push('endpoints.stt', 'endpoints.chat', 'endpoints.tts');
  return keys;
}

/**
 * A valid value for each documented key, how to read it back from the loaded VoiceConfig, and what
 * else the key needs to be valid on its own (`with`, dotted keys).
 */
const SAMPLES: Record<
  string,
  { value: unknown; read: (v: VoiceConfig) => unknown; expect?: unknown; with?: Record<string, unknown> }
> = {
  adapter: { value: 'rest', read: (v) => v.adapter },
  baseUrl: { value: 'http://127.0.0.1:9/v1', read: (v) => v.baseUrl },
  apiKey: { value: 'sk-test-config-key', read: (v) => v.apiKey?.reveal(), expect: 'sk-test-config-key' },
  'models.stt': { value: 'whisper-1', read: (v) => v.models.stt },
  'models.chat': { value: 'llama3', read: (v) => v.models.chat },
  'models.tts': { value: 'tts-1', read: (v) => v.models.tts },
  'models.realtime': { value: 'gpt-realtime-mini', read: (v) => v.models.realtime },
  voice: { value: 'verse', read: (v) => v.voice },
  language: { value: 'de', read: (v) => v.language },
  systemPrompt: { value: 'Be terse.', read: (v) => v.systemPrompt },
  speechFormat: { value: 'wav', read: (v) => v.speechFormat },
  pcmSampleRate: { value: 16000, read: (v) => v.pcmSampleRate },
  sttSampleRate: { value: 16000, read: (v) => v.sttSampleRate },
  'timeouts.requestMs': { value: 1234, read: (v) => v.timeouts.requestMs },
  'timeouts.idleMs': { value: 2345, read: (v) => v.timeouts.idleMs },
  'retry.maxRetries': { value: 5, read: (v) => v.retry.maxRetries },
  'retry.baseDelayMs': { value: 100, read: (v) => v.retry.baseDelayMs },
  'retry.maxDelayMs': { value: 900, read: (v) => v.retry.maxDelayMs },
  maxHistoryMessages: { value: 7, read: (v) => v.maxHistoryMessages },
  realtimeUrl: { value: 'ws://127.0.0.1:9/v1/realtime', read: (v) => v.realtimeUrl },
  realtimeProtocol: { value: 'beta', read: (v) => v.realtimeProtocol },
  'endpoints.stt': { value: 'http://127.0.0.1:8000/v1', read: (v) => v.endpoints?.stt },
  'endpoints.chat': { value: 'http://127.0.0.1:11434/v1', read: (v) => v.endpoints?.chat },
  'endpoints.tts': { value: 'http://127.0.0.1:8880/v1', read: (v) => v.endpoints?.tts },
  'doubao.url': { value: 'ws://127.0.0.1:9/api/v3/realtime/dialogue', read: (v) => v.doubao.url },
  'doubao.appId': { value: '123456789', read: (v) => v.doubao.appId },
  'doubao.accessKey': {
    value: 'doubao-access-key',
    read: (v) => v.doubao.accessKey?.reveal(),
    expect: 'doubao-access-key',
  },
  'doubao.resourceId': { value: 'volc.speech.dialog', read: (v) => v.doubao.resourceId },
  'doubao.model': { value: '2.2.0.0', read: (v) => v.doubao.model },
  'doubao.speaker': { value: 'zh_male_yunzhou_jupiter_bigtts', read: (v) => v.doubao.speaker },
  preset: {
    value: 'qianfan',
    read: (v) => v.preset,
    with: { 'endpoints.stt': 'http://127.0.0.1:8000/v1', 'endpoints.tts': 'http://127.0.0.1:8880/v1' },
  },
};

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
  o[parts[parts.length - 1] as string] = value;
}

describe('config: the voice section', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'budlink-config-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  const write = (voice: unknown): void =>
    writeFileSync(join(tmp, 'budlink.config.json'), JSON.stringify({ voice }));
  const load = () => loadConfig({ cwd: tmp, env: {} });

  it('documents at least the keys the voice module accepts, and the doc table is complete here', () => {
    const documented = documentedVoiceKeys();
    expect(documented).to.include.members([
      'sttSampleRate',
      'realtimeProtocol',
      'endpoints.stt',
      'doubao.accessKey',
    ]);
    // every top-level VOICE_FILE_KEYS key is documented, and every documented key has a sample here
    expect(new Set(documented.map((k) => k.split('.')[0]))).to.deep.equal(new Set(VOICE_FILE_KEYS));
    for (const k of documented) expect(SAMPLES, `sample value for ${k}`).to.have.property(k);
  });

  for (const key of Object.keys(SAMPLES)) {
    it(`accepts voice.${key} in a file and applies it`, () => {
      const voice: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(SAMPLES[key]?.with ?? {})) setPath(voice, k, v);
      setPath(voice, key, SAMPLES[key]?.value);
      write(voice);
      const loaded = load();
      const s = SAMPLES[key] as (typeof SAMPLES)[string];
      expect(s.read(loaded.voice)).to.equal(s.expect ?? s.value);
    });
  }

  it('accepts every documented key at once', () => {
    const voice: Record<string, unknown> = {};
    for (const k of documentedVoiceKeys()) setPath(voice, k, SAMPLES[k]?.value);
    write(voice);
    const v = load().voice;
    for (const k of documentedVoiceKeys()) {
      const s = SAMPLES[k] as (typeof SAMPLES)[string];
      expect(s.read(v), k).to.equal(s.expect ?? s.value);
    }
  });

  it('refuses a top-level typo with a did-you-mean naming the file', () => {
    write({ sttSampleRat: 16000 });
    expect(load).to.throw(
      ConfigError,
      "config: unknown key 'voice.sttSampleRat' in ./budlink.config.json (did you mean 'voice.sttSampleRate'?)",
    );
    write({ realtimeProtocoll: 'ga' });
    expect(load).to.throw(ConfigError, "(did you mean 'voice.realtimeProtocol'?)");
  });

  it('refuses a nested typo with a did-you-mean', () => {
    write({ endpoints: { sst: 'http://127.0.0.1:8000/v1' } });
    expect(load).to.throw(
      ConfigError,
      "config: unknown key 'voice.endpoints.sst' in ./budlink.config.json (did you mean 'voice.endpoints.stt'?)",
    );
    write({ timeouts: { requestMS: 5 } });
    expect(load).to.throw(ConfigError, "(did you mean 'voice.timeouts.requestMs'?)");
    write({ doubao: { appID: '1' } });
    expect(load).to.throw(ConfigError, "(did you mean 'voice.doubao.appId'?)");
  });

  it('refuses an unrelated key without a suggestion, and a wrong value with the voice module message', () => {
    write({ colour: 'blue' });
    expect(load).to.throw(ConfigError, /^config: unknown key 'voice\.colour' in \.\/budlink\.config\.json$/);
    write({ endpoints: 'http://127.0.0.1:8000/v1' });
    expect(load).to.throw(ConfigError, "'voice.endpoints' in ./budlink.config.json must be an object");
    write({ sttSampleRate: 1 });
    expect(load).to.throw(ConfigError, /sttSampleRate must be an integer from 4000 to 48000/);
  });
});
