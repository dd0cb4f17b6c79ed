/**
 * Presets for OpenAI-compatible chat services, as their documentation describes them: Volcengine Ark
 * ("Base URL及鉴权": https://ark.cn-beijing.volces.com/api/v3, Authorization: Bearer, model = Model ID
 * or endpoint ID) and Baidu Qianfan ("OpenAI SDK兼容介绍": https://qianfan.baidubce.com/v2, Bearer
 * API key, model ernie-3.5-8k in its quick start). The REST adapter is run against the OpenAI-
 * compatible fake serving each documented path, with speech and transcription on a local server.
 */
import { expect } from 'chai';
import {
  createVoiceService,
  voiceConfigFromEnv,
  VOICE_PRESETS,
  type VoicePreset,
} from '../../../host/src/voice/index';
import { FakeOpenAiRest } from '@budlink/test-support/fake-services';
import { audioOf, collect, configError as failure, KEY, tone } from './helpers';

const SPEECH = {
  BUDLINK_STT_BASE_URL: 'http://127.0.0.1:8000/v1',
  BUDLINK_TTS_BASE_URL: 'http://127.0.0.1:8880/v1',
};

const configError = (f: () => unknown): string => failure(f).message;

describe('voice: presets for Volcengine Ark and Baidu Qianfan (OpenAI-compatible chat)', function () {
  this.timeout(10000);

  it('fill the documented base URL and, for Qianfan, its chat model; the rest adapter by default', () => {
    const ark = voiceConfigFromEnv({
      BUDLINK_VOICE_PRESET: 'ark',
      BUDLINK_CHAT_MODEL: 'ep-20250101-abc',
      ...SPEECH,
    });
    expect(ark).to.deep.include({
      adapter: 'rest',
      preset: 'ark',
      baseUrl: 'https://ark.cn-beijing.volces.com/api/v3',
    });
    expect(ark.models.chat).to.equal('ep-20250101-abc');
    const qf = voiceConfigFromEnv({ ...SPEECH }, { preset: 'qianfan' });
    expect(qf).to.deep.include({
      adapter: 'rest',
      preset: 'qianfan',
      baseUrl: 'https://qianfan.baidubce.com/v2',
    });
    expect(qf.models.chat).to.equal('ernie-3.5-8k');
    // An explicit base URL (a proxy, another region) and model win over the preset's.
    const own = voiceConfigFromEnv({
      BUDLINK_VOICE_PRESET: 'qianfan',
      OPENAI_BASE_URL: 'https://proxy.example/v2',
      BUDLINK_CHAT_MODEL: 'ernie-4.0-turbo-8k',
      ...SPEECH,
    });
    expect(own.baseUrl).to.equal('https://proxy.example/v2');
    expect(own.models.chat).to.equal('ernie-4.0-turbo-8k');
  });

  it('refuse what the services do not offer, with the key to set', () => {
    expect(configError(() => voiceConfigFromEnv({ BUDLINK_VOICE_PRESET: 'ark', ...SPEECH }))).to.equal(
      'voice config: BUDLINK_VOICE_PRESET ark needs models.chat (BUDLINK_CHAT_MODEL): an Ark Model ID or endpoint ID (ep-…)',
    );
    expect(configError(() => voiceConfigFromEnv({ BUDLINK_VOICE_PRESET: 'qianfan' }))).to.equal(
      'voice config: BUDLINK_VOICE_PRESET qianfan serves chat only: set endpoints.stt and endpoints.tts ' +
        '(BUDLINK_STT_BASE_URL, BUDLINK_TTS_BASE_URL) to servers for transcription and speech',
    );
    expect(
      configError(() => voiceConfigFromEnv({ ...SPEECH, BUDLINK_VOICE: 'realtime' }, { preset: 'qianfan' })),
    ).to.match(
      /^voice config: preset qianfan is a chat service for the rest adapter, not for adapter realtime$/,
    );
    expect(configError(() => voiceConfigFromEnv({ BUDLINK_VOICE_PRESET: 'openai' }))).to.match(
      /BUDLINK_VOICE_PRESET must be one of ark, qianfan/,
    );
  });

  it("a preset in a config file does not get the environment's key (it moves baseUrl)", () => {
    const cfg = voiceConfigFromEnv({ OPENAI_API_KEY: KEY, ...SPEECH }, { preset: 'qianfan' });
    expect(cfg.apiKey).to.equal(undefined);
    expect(cfg.keyWithheld).to.match(
      /^OPENAI_API_KEY is not sent to https:\/\/qianfan\.baidubce\.com: the config file's voice\.preset/,
    );
    const fromEnv = voiceConfigFromEnv({ OPENAI_API_KEY: KEY, BUDLINK_VOICE_PRESET: 'qianfan', ...SPEECH });
    expect(fromEnv.apiKey?.reveal()).to.equal(KEY);
  });

  for (const [preset, model] of [
    ['ark', 'ep-20250601-budlink'],
    ['qianfan', 'ernie-3.5-8k'],
  ] as Array<[VoicePreset, string]>) {
    it(`${preset}: chat goes to the documented path with a Bearer key; speech and STT elsewhere, keyless`, async () => {
      const path = new URL(VOICE_PRESETS[preset].baseUrl).pathname;
      const chat = await new FakeOpenAiRest({
        apiKey: KEY,
        basePath: path,
        reply: () => 'Hello there.',
      }).start();
      const speech = await new FakeOpenAiRest({ language: undefined }).start();
      const svc = createVoiceService(
        voiceConfigFromEnv({
          BUDLINK_VOICE_PRESET: preset,
          OPENAI_API_KEY: KEY,
          // The preset's path on the fake's origin: what the documentation names, on loopback.
          OPENAI_BASE_URL: chat.baseUrl,
          ...(preset === 'ark' ? { BUDLINK_CHAT_MODEL: model } : {}),
          BUDLINK_STT_BASE_URL: speech.baseUrl,
          BUDLINK_TTS_BASE_URL: speech.baseUrl,
          BUDLINK_RETRY_BASE_MS: '5',
        }),
      );
      try {
        expect(chat.baseUrl).to.match(new RegExp(`${path.replace(/\//g, '\\/')}$`));
        const { events, error } = await collect(
          svc.respond({ deviceId: 'bud', audio: tone(8000, 300, 8000), sampleRate: 8000 }),
        );
        expect(error).to.equal(undefined);
        expect(audioOf(events).length).to.be.greaterThan(0);
        expect(chat.calls).to.deep.equal([`POST ${path}/chat/completions`]);
        expect(chat.requests[0]?.authorization).to.equal(`Bearer ${KEY}`);
        expect(chat.requests[0]?.json?.model).to.equal(model);
        expect(speech.calls).to.deep.equal(['POST /v1/audio/transcriptions', 'POST /v1/audio/speech']);
        expect(speech.requests.every((r) => r.authorization === undefined)).to.equal(true);
        expect(chat.violations).to.deep.equal([]);
        expect(speech.violations).to.deep.equal([]);
      } finally {
        await svc.close();
        await chat.stop();
        await speech.stop();
      }
    });
  }
});
