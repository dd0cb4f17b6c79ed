/**
 * One contract, every adapter: the pipeline relies on these behaviours whichever service is
 * configured. Runs against loopback, REST (local fake), Realtime (local fake, GA and beta), Doubao
 * (local fake) and the local service (pocketsphinx + espeak-ng; pending when they are not installed);
 * against a real service too when BUDLINK_VOICE_LIVE=1 (uses OPENAI_* / BUDLINK_* from the
 * environment; pending otherwise).
 */
import { expect } from 'chai';
import {
  createVoiceService,
  voiceConfigFromEnv,
  VoiceError,
  type VoiceEvent,
  type VoiceService,
} from '../../../host/src/voice/index';
import { FakeOpenAiRest, FakeRealtimeServer, FakeDoubaoServer } from '@budlink/test-support/fake-services';
import {
  audioOf,
  collect,
  DOUBAO_APP,
  DOUBAO_KEY,
  doubaoConfig,
  KEY,
  localToolsMissing,
  pendingBecause,
  restConfig,
  tone,
} from './helpers';
import { sleep } from '@budlink/test-support/wait';

interface Target {
  name: string;
  live?: boolean;
  /** Why the target cannot run here (the suite is pending), or undefined. */
  unavailable?: () => string | undefined;
  make(): Promise<{ svc: VoiceService; stop(): Promise<void> }>;
}

const targets: Target[] = [
  {
    name: 'loopback',
    async make() {
      const svc = createVoiceService(voiceConfigFromEnv({ BUDLINK_VOICE: 'loopback' }));
      return { svc, stop: async () => undefined };
    },
  },
  {
    name: 'rest (fake server)',
    async make() {
      const fake = await new FakeOpenAiRest({ apiKey: KEY }).start();
      const svc = createVoiceService(restConfig(fake.baseUrl));
      return {
        svc,
        stop: async () => {
          await fake.stop();
          expect(fake.violations).to.deep.equal([]);
        },
      };
    },
  },
  ...(['ga', 'beta'] as const).map((generation): Target => ({
    name: `realtime ${generation} (fake server)`,
    async make() {
      const fake = await new FakeRealtimeServer({ generation, apiKey: KEY }).start();
      const svc = createVoiceService(
        voiceConfigFromEnv({
          BUDLINK_VOICE: 'realtime',
          OPENAI_API_KEY: KEY,
          OPENAI_BASE_URL: fake.baseUrl,
          BUDLINK_REALTIME_PROTOCOL: generation,
        }),
      );
      return {
        svc,
        stop: async () => {
          await fake.stop();
          expect(fake.violations).to.deep.equal([]);
        },
      };
    },
  })),
  {
    name: 'doubao (fake server)',
    async make() {
      const fake = await new FakeDoubaoServer({ appId: DOUBAO_APP, accessKey: DOUBAO_KEY }).start();
      const svc = createVoiceService(doubaoConfig(fake.url, { BUDLINK_IDLE_TIMEOUT_MS: '5000' }));
      return {
        svc,
        stop: async () => {
          await fake.stop();
          expect(fake.violations).to.deep.equal([]);
        },
      };
    },
  },
  {
    name: 'local (pocketsphinx + espeak-ng)',
    unavailable: localToolsMissing,
    async make() {
      const svc = createVoiceService(voiceConfigFromEnv({ BUDLINK_VOICE: 'local' }));
      return { svc, stop: async () => undefined };
    },
  },
  {
    name: 'live service from the environment',
    live: true,
    async make() {
      const svc = createVoiceService(voiceConfigFromEnv(process.env));
      return { svc, stop: async () => undefined };
    },
  },
];

function checkOrder(events: VoiceEvent[]): void {
  expect(events[0]).to.deep.include({ kind: 'transcript', role: 'user', final: true });
  expect(events[events.length - 1]).to.deep.equal({ kind: 'done' });
  expect(events.filter((e) => e.kind === 'done')).to.have.length(1);
  expect(events.filter((e) => e.kind === 'transcript' && e.role === 'user')).to.have.length(1);
  for (const a of audioOf(events)) {
    expect(Number.isInteger(a.sampleRate) && a.sampleRate >= 8000).to.equal(true);
    expect(a.pcm).to.be.instanceOf(Int16Array);
    expect(a.pcm.length).to.be.greaterThan(0);
  }
  // Assistant transcripts: partials grow, the single final one comes after all audio.
  const finals = events.filter((e) => e.kind === 'transcript' && e.role === 'assistant' && e.final);
  expect(finals.length).to.be.at.most(1);
  if (finals.length === 1) {
    const i = events.indexOf(finals[0]!);
    expect(events.slice(i).some((e) => e.kind === 'audio')).to.equal(false);
  }
}

describe('voice: adapter contract', function () {
  this.timeout(30000);
  for (const t of targets) {
    const why = t.unavailable?.();
    if (why !== undefined) {
      describe(t.name, () => pendingBecause(why));
      continue;
    }
    describe(t.name, function () {
      let svc: VoiceService;
      let stop: () => Promise<void>;
      before(async function () {
        if (t.live && process.env.BUDLINK_VOICE_LIVE !== '1') this.skip();
        ({ svc, stop } = await t.make());
      });
      after(async () => {
        if (svc) await svc.close();
        if (stop) await stop();
      });

      it('answers an utterance: user transcript first, audio, done last; twice in a row', async () => {
        for (let i = 0; i < 2; i++) {
          const { events, error } = await collect(
            svc.respond({ deviceId: 'contract', audio: tone(8000, 300, 8000), sampleRate: 8000 }),
          );
          expect(error).to.equal(undefined);
          checkOrder(events);
          expect(audioOf(events).length).to.be.greaterThan(0);
        }
      });

      it('rejects an impossible sample rate and empty audio with bad-request, and stays usable', async () => {
        const a = await collect(
          svc.respond({ deviceId: 'contract', audio: tone(100, 300, 8000), sampleRate: 0 }),
        );
        expect(a.error?.kind).to.equal('bad-request');
        const b = await collect(
          svc.respond({ deviceId: 'contract', audio: new Int16Array(0), sampleRate: 8000 }),
        );
        expect(b.error?.kind).to.equal('bad-request');
        const ok = await collect(
          svc.respond({ deviceId: 'contract', audio: tone(8000, 300, 8000), sampleRate: 8000 }),
        );
        expect(ok.error).to.equal(undefined);
      });

      it('unsubscribing at once emits nothing and leaves the service usable', async () => {
        const seen: VoiceEvent[] = [];
        svc
          .respond({ deviceId: 'contract', audio: tone(8000, 300, 8000), sampleRate: 8000 })
          .subscribe((e) => seen.push(e))
          .unsubscribe();
        await sleep(20);
        expect(seen).to.deep.equal([]);
        const ok = await collect(
          svc.respond({ deviceId: 'contract', audio: tone(8000, 300, 8000), sampleRate: 8000 }),
        );
        expect(ok.error).to.equal(undefined);
      });

      it('truncate of an unknown device is a no-op; after close, respond errors with closed', async () => {
        await svc.truncate('never-seen', 100);
        await svc.close();
        const { error } = await collect(
          svc.respond({ deviceId: 'contract', audio: tone(800, 300, 8000), sampleRate: 8000 }),
        );
        expect(error).to.be.instanceOf(VoiceError);
        expect(error?.kind).to.equal('closed');
      });
    });
  }
});
