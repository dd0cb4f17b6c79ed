import { expect } from 'chai';
import { inspect } from 'node:util';
import { firstValueFrom, toArray } from 'rxjs';
import {
  createVoiceService,
  LoopbackVoiceService,
  realtimeUrlOf,
  Secret,
  voiceConfigFromEnv,
  VoiceError,
  type VoiceEvent,
} from '../../../host/src/voice/index';
import { configError } from './helpers';
import { settle } from '@budlink/test-support/wait';

const KEY = 'sk-test-CANARY-4b1d9e7f0a2c';

describe('voice: configuration', () => {
  it('defaults to loopback with nothing configured, to rest once a key or base URL is set', () => {
    expect(voiceConfigFromEnv({}).adapter).to.equal('loopback');
    expect(voiceConfigFromEnv({ OPENAI_API_KEY: KEY }).adapter).to.equal('rest');
    expect(voiceConfigFromEnv({ OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1' }).adapter).to.equal('rest');
  });

  it('environment overrides the file, and every env key lands where documented', () => {
    const cfg = voiceConfigFromEnv(
      {
        BUDLINK_VOICE: 'realtime',
        OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1/',
        BUDLINK_CHAT_MODEL: 'llama3.2',
        BUDLINK_TTS_VOICE: 'nova',
        BUDLINK_LANGUAGE: 'de',
        BUDLINK_TIMEOUT_MS: '2500',
        BUDLINK_MAX_RETRIES: '0',
        BUDLINK_SPEECH_FORMAT: 'WAV',
      },
      {
        adapter: 'rest',
        models: { chat: 'from-file', stt: 'whisper-1' },
        systemPrompt: 'Be terse.',
        apiKey: KEY,
      },
    );
    expect(cfg.adapter).to.equal('realtime');
    expect(cfg.baseUrl).to.equal('http://127.0.0.1:8000/v1');
    expect(cfg.models.chat).to.equal('llama3.2');
    expect(cfg.models.stt).to.equal('whisper-1');
    expect(cfg.systemPrompt).to.equal('Be terse.');
    expect(cfg.voice).to.equal('nova');
    expect(cfg.language).to.equal('de');
    expect(cfg.timeouts.requestMs).to.equal(2500);
    expect(cfg.retry.maxRetries).to.equal(0);
    expect(cfg.speechFormat).to.equal('wav');
    expect(cfg.apiKey?.reveal()).to.equal(KEY);
    expect(realtimeUrlOf(cfg)).to.equal('ws://127.0.0.1:8000/v1/realtime?model=gpt-realtime');
  });

  it("a config file that moves baseUrl elsewhere does not get the environment's key", () => {
    const evil = { baseUrl: 'https://collector.example/v1' };
    const moved = voiceConfigFromEnv({ OPENAI_API_KEY: KEY }, evil);
    expect(moved.apiKey).to.equal(undefined);
    expect(moved.keyWithheld).to.match(/^OPENAI_API_KEY is not sent to https:\/\/collector\.example:/);
    expect(moved.keyWithheld).to.contain('OPENAI_BASE_URL=https://collector.example/v1');
    expect(moved.keyWithheld).not.to.contain(KEY);
    // What the environment says, or the file's own key, or the same origin as the default: kept.
    const env = { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: 'https://collector.example/v1' };
    expect(voiceConfigFromEnv(env, evil).apiKey?.reveal()).to.equal(KEY);
    expect(voiceConfigFromEnv({}, { ...evil, apiKey: KEY }).apiKey?.reveal()).to.equal(KEY);
    const same = voiceConfigFromEnv({ OPENAI_API_KEY: KEY }, { baseUrl: 'https://api.openai.com/v2' });
    expect(same.apiKey?.reveal()).to.equal(KEY);
    expect(same.keyWithheld).to.equal(undefined);
  });

  it('validation errors name the key that is wrong', () => {
    expect(configError(() => voiceConfigFromEnv({ BUDLINK_VOICE: 'grpc' })).message).to.match(
      /BUDLINK_VOICE.*rest/,
    );
    expect(configError(() => voiceConfigFromEnv({ BUDLINK_TIMEOUT_MS: '10s' })).message).to.match(
      /BUDLINK_TIMEOUT_MS/,
    );
    expect(configError(() => voiceConfigFromEnv({ OPENAI_BASE_URL: 'localhost:8080' })).message).to.match(
      /OPENAI_BASE_URL must use http: or https:/,
    );
    expect(configError(() => voiceConfigFromEnv({ OPENAI_BASE_URL: '/v1' })).message).to.match(
      /OPENAI_BASE_URL must be an absolute URL/,
    );
    expect(configError(() => voiceConfigFromEnv({ BUDLINK_LANGUAGE: 'english please' })).message).to.match(
      /BUDLINK_LANGUAGE/,
    );
    expect(configError(() => voiceConfigFromEnv({}, { timeouts: { requestMs: -1 } })).message).to.match(
      /timeouts\.requestMs/,
    );
    expect(configError(() => voiceConfigFromEnv({}, { modles: {} })).message).to.match(/modles.*not a known/);
    expect(configError(() => voiceConfigFromEnv({}, { retry: { tries: 3 } })).message).to.match(
      /retry\.tries/,
    );
    expect(configError(() => voiceConfigFromEnv({}, 'rest')).message).to.match(/must be an object/);
    expect(configError(() => voiceConfigFromEnv({}, { endpoints: { stt: 'ftp://x' } })).message).to.match(
      /endpoints\.stt must use http: or https:/,
    );
    expect(configError(() => voiceConfigFromEnv({ BUDLINK_REALTIME_PROTOCOL: 'v2' })).message).to.match(
      /BUDLINK_REALTIME_PROTOCOL must be one of ga, beta/,
    );
  });

  it('the API key never shows in errors, String(), JSON or inspect of the config', () => {
    const err = configError(() => voiceConfigFromEnv({ OPENAI_API_KEY: `${KEY} oops` }));
    expect(err.message).to.match(/OPENAI_API_KEY/);
    expect(err.message + String(err) + JSON.stringify(err)).not.to.include('CANARY');
    const cfg = voiceConfigFromEnv({ OPENAI_API_KEY: KEY });
    expect(JSON.stringify(cfg)).not.to.include('CANARY');
    expect(inspect(cfg, { depth: 10 })).not.to.include('CANARY');
    expect(String(cfg.apiKey)).to.equal('[redacted]');
    expect(new Secret(KEY).reveal()).to.equal(KEY);
  });
});

describe('voice: Doubao configuration', () => {
  const DKEY = 'dbk-test-CANARY-0f1e2d3c4b5a';
  const base = {
    BUDLINK_VOICE: 'doubao',
    BUDLINK_DOUBAO_APP_ID: '123456789',
    BUDLINK_DOUBAO_ACCESS_KEY: DKEY,
  };

  it('defaults are the documented URL, resource id, O2.0 model and vv speaker; env keys land', () => {
    const d = voiceConfigFromEnv(base).doubao;
    expect(d).to.deep.include({
      url: 'wss://openspeech.bytedance.com/api/v3/realtime/dialogue',
      appId: '123456789',
      resourceId: 'volc.speech.dialog',
      model: '1.2.1.1',
      speaker: 'zh_female_vv_jupiter_bigtts',
    });
    expect(d.accessKey?.reveal()).to.equal(DKEY);
    const o = voiceConfigFromEnv({
      ...base,
      BUDLINK_DOUBAO_URL: 'ws://127.0.0.1:9/api/v3/realtime/dialogue',
      BUDLINK_DOUBAO_RESOURCE_ID: 'volc.speech.dialog.test',
      BUDLINK_DOUBAO_MODEL: '2.2.0.0',
      BUDLINK_DOUBAO_SPEAKER: 'saturn_zh_male_aojiaogongzi_tob',
    }).doubao;
    expect(o).to.deep.include({
      url: 'ws://127.0.0.1:9/api/v3/realtime/dialogue',
      resourceId: 'volc.speech.dialog.test',
      model: '2.2.0.0',
      speaker: 'saturn_zh_male_aojiaogongzi_tob',
    });
    // A numeric app id in a file is taken as written.
    expect(voiceConfigFromEnv({}, { doubao: { appId: 987654321 } }).doubao.appId).to.equal('987654321');
  });

  it('adapter doubao needs the app id and the access key; bad values name their key', () => {
    expect(configError(() => voiceConfigFromEnv({ BUDLINK_VOICE: 'doubao' })).message).to.equal(
      'voice config: doubao.appId is required by adapter doubao (set BUDLINK_DOUBAO_APP_ID or voice.doubao.appId)',
    );
    expect(
      configError(() => voiceConfigFromEnv({ BUDLINK_VOICE: 'doubao', BUDLINK_DOUBAO_APP_ID: '1' })).message,
    ).to.match(/doubao\.accessKey is required by adapter doubao/);
    expect(configError(() => voiceConfigFromEnv({ ...base, BUDLINK_DOUBAO_MODEL: 'O' })).message).to.equal(
      'voice config: BUDLINK_DOUBAO_MODEL must be one of 1.2.1.1, 2.2.0.0, got "O"',
    );
    expect(
      configError(() =>
        voiceConfigFromEnv({ ...base, BUDLINK_DOUBAO_URL: 'https://openspeech.bytedance.com' }),
      ).message,
    ).to.match(/BUDLINK_DOUBAO_URL must use ws: or wss:/);
    expect(configError(() => voiceConfigFromEnv({}, { doubao: { speaker: 'vv voice' } })).message).to.match(
      /doubao\.speaker must not contain whitespace/,
    );
    expect(configError(() => voiceConfigFromEnv({}, { doubao: { appKey: 'x' } })).message).to.match(
      /doubao\.appKey is not a known voice setting/,
    );
    const err = configError(() => voiceConfigFromEnv({ ...base, BUDLINK_DOUBAO_ACCESS_KEY: `${DKEY} x` }));
    expect(err.message).to.match(/BUDLINK_DOUBAO_ACCESS_KEY must not contain whitespace/);
    expect(err.message + JSON.stringify(err)).not.to.include('CANARY');
    expect(inspect(voiceConfigFromEnv(base), { depth: 10 })).not.to.include('CANARY');
  });

  it("a config file that moves doubao.url elsewhere does not get the environment's access key", () => {
    const evil = { doubao: { url: 'wss://collector.example/dialogue' } };
    const other = voiceConfigFromEnv({ BUDLINK_DOUBAO_ACCESS_KEY: DKEY }, evil);
    expect(other.doubao.accessKey).to.equal(undefined);
    expect(other.keyWithheld).to.equal(
      "BUDLINK_DOUBAO_ACCESS_KEY is not sent to https://collector.example: the config file's " +
        'voice.doubao.url moved requests there, and a key from the environment goes only to ' +
        'https://openspeech.bytedance.com. To use a key with that service, set ' +
        'BUDLINK_DOUBAO_URL=wss://collector.example/dialogue in the environment, or voice.doubao.accessKey ' +
        'in the config file',
    );
    const err = configError(() => voiceConfigFromEnv(base, evil));
    expect(err.message).to.match(
      /^voice config: doubao\.accessKey is withheld: BUDLINK_DOUBAO_ACCESS_KEY is not sent/,
    );
    // The environment's own URL, or the file's own key: kept.
    const env = { ...base, BUDLINK_DOUBAO_URL: 'wss://collector.example/dialogue' };
    expect(voiceConfigFromEnv(env, evil).doubao.accessKey?.reveal()).to.equal(DKEY);
    const own = { doubao: { ...evil.doubao, accessKey: DKEY, appId: '1' }, adapter: 'doubao' };
    expect(voiceConfigFromEnv({}, own).doubao.accessKey?.reveal()).to.equal(DKEY);
  });
});

describe('voice: loopback service', () => {
  it('plays the utterance back: user transcript placeholder, the input audio in chunks, done', async () => {
    const svc = createVoiceService(voiceConfigFromEnv({ BUDLINK_VOICE: 'loopback' }));
    expect(svc).to.be.instanceOf(LoopbackVoiceService);
    const audio = Int16Array.from({ length: 2000 }, (_, i) => i - 1000);
    const events = await firstValueFrom(
      svc.respond({ deviceId: 'bud-1', audio, sampleRate: 8000 }).pipe(toArray()),
    );
    expect(events[0]).to.deep.equal({
      kind: 'transcript',
      role: 'user',
      text: '[loopback: 0.25 s of audio]',
      final: true,
    });
    const pcm = events.filter((e): e is Extract<VoiceEvent, { kind: 'audio' }> => e.kind === 'audio');
    expect(pcm.length).to.equal(3);
    expect(pcm.every((e) => e.sampleRate === 8000)).to.equal(true);
    expect(pcm.flatMap((e) => Array.from(e.pcm))).to.deep.equal(Array.from(audio));
    expect(events[events.length - 1]).to.deep.equal({ kind: 'done' });
    await svc.truncate('bud-1', 100);
    await svc.close();
  });

  it('unsubscribing before it starts emits nothing; a closed service errors with kind closed', async () => {
    const svc = new LoopbackVoiceService();
    const seen: VoiceEvent[] = [];
    svc
      .respond({ deviceId: 'a', audio: new Int16Array(10), sampleRate: 8000 })
      .subscribe((e) => seen.push(e))
      .unsubscribe();
    await settle();
    expect(seen).to.deep.equal([]);
    await svc.close();
    const err = await firstValueFrom(
      svc.respond({ deviceId: 'a', audio: new Int16Array(10), sampleRate: 8000 }),
    ).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(VoiceError);
    expect((err as VoiceError).kind).to.equal('closed');
  });
});
