/**
 * The Doubao realtime dialogue adapter against the local fake service (test/support/fake-services/
 * doubao.ts), which follows Volcengine's documentation and rejects what it does not allow.
 */
import { expect } from 'chai';
import {
  DoubaoVoiceService,
  kindForDoubaoError,
  voiceConfigFromEnv,
  VoiceError,
  type VoiceEvent,
} from '../../../host/src/voice/index';
import { MessageType } from '../../../host/src/voice/doubao-protocol';
import {
  FakeDoubaoServer,
  type DoubaoFault,
  type FakeDoubaoOptions,
} from '@budlink/test-support/fake-services';
import { audioOf, collect, DOUBAO_APP, DOUBAO_KEY, doubaoConfig, keyFree, tone, tracked } from './helpers';
import { until } from '@budlink/test-support/wait';

const utterance = (deviceId = 'bud-1'): { deviceId: string; audio: Int16Array; sampleRate: number } => ({
  deviceId,
  audio: tone(8000, 300, 8000),
  sampleRate: 8000,
});

const REPLY = 'Why did the earbud cross the road? To get better reception.';

describe('voice: Doubao realtime dialogue adapter', function () {
  this.timeout(15000);
  const { fake: keep, service } = tracked('client frames the fake service rejected');
  async function setup(opts: FakeDoubaoOptions = {}, extra: Record<string, string> = {}) {
    const fake = keep(
      await new FakeDoubaoServer({ appId: DOUBAO_APP, accessKey: DOUBAO_KEY, ...opts }).start(),
    );
    const svc = service(new DoubaoVoiceService(doubaoConfig(fake.url, extra)));
    return { fake, svc };
  }

  it('happy path: 16 kHz audio in 20 ms TaskRequests, EndASR; transcripts, 24 kHz audio, done', async () => {
    const { fake, svc } = await setup();
    const { events, error } = await collect(svc.respond(utterance()));
    expect(error).to.equal(undefined);
    expect(events[0]).to.deep.equal({
      kind: 'transcript',
      role: 'user',
      text: 'Tell me a joke.',
      final: true,
    });
    const audio = audioOf(events);
    expect(audio).to.have.length(5);
    expect(audio.every((a) => a.sampleRate === 24000 && a.pcm.length === 2400)).to.equal(true);
    expect(
      events.filter((e) => e.kind === 'transcript' && e.role === 'assistant' && !e.final),
    ).to.have.length(5);
    expect(events.slice(-2)).to.deep.equal([
      { kind: 'transcript', role: 'assistant', text: REPLY, final: true },
      { kind: 'done' },
    ]);
    // 1 s at 8 kHz → 16000 samples at 16 kHz → 50 packets of 640 bytes.
    expect(fake.events()).to.deep.equal([1, 100, ...Array<number>(50).fill(200), 400]);
    expect(fake.packets.every((n) => n === 640)).to.equal(true);
    const h = fake.upgrades[0]!.headers;
    expect(fake.upgrades[0]!.url).to.equal('/api/v3/realtime/dialogue');
    expect(h['x-api-app-id']).to.equal(DOUBAO_APP);
    expect(h['x-api-access-key']).to.equal(DOUBAO_KEY);
    expect(h['x-api-resource-id']).to.equal('volc.speech.dialog');
    expect(h['x-api-app-key']).to.equal('PlgvMymc7f3tQnJ6');
    expect(h['x-api-connect-id']).to.match(/^[0-9a-f-]{36}$/);
    expect(fake.sessions[0]).to.deep.equal({
      tts: {
        speaker: 'zh_female_vv_jupiter_bigtts',
        audio_config: { channel: 1, format: 'pcm_s16le', sample_rate: 24000 },
      },
      dialog: {
        system_role: voiceConfigFromEnv({}).systemPrompt,
        extra: { input_mod: 'push_to_talk', model: '1.2.1.1', enable_conversation_truncate: true },
      },
    });
    // The second turn reuses the connection and the session.
    const again = await collect(svc.respond(utterance()));
    expect(again.error).to.equal(undefined);
    expect(fake.connections).to.equal(1);
    expect(fake.events().filter((e) => e === 100)).to.have.length(1);
  });

  it('close() finishes the session and the connection as the documentation asks', async () => {
    const { fake, svc } = await setup();
    await collect(svc.respond(utterance()));
    await svc.close();
    expect(fake.events().slice(-2)).to.deep.equal([102, 2]);
  });

  it('SC2.0 takes the prompt as character_manifest; speaker and resource id are configurable', async () => {
    const { fake, svc } = await setup(
      {},
      {
        BUDLINK_DOUBAO_MODEL: '2.2.0.0',
        BUDLINK_DOUBAO_SPEAKER: 'saturn_zh_female_keainvsheng_tob',
        BUDLINK_SYSTEM_PROMPT: 'Be kind.',
      },
    );
    await collect(svc.respond(utterance()));
    const s = fake.sessions[0]!;
    expect(s.dialog).to.deep.equal({
      character_manifest: 'Be kind.',
      extra: { input_mod: 'push_to_talk', model: '2.2.0.0', enable_conversation_truncate: true },
    });
    expect((s.tts as Record<string, unknown>).speaker).to.equal('saturn_zh_female_keainvsheng_tob');
  });

  describe('errors', () => {
    const cases: Array<[DoubaoFault, string, RegExp]> = [
      [
        { kind: 'error-frame', code: 55000001, message: 'ServerError' },
        'server',
        /error 55000001: ServerError/,
      ],
      [
        { kind: 'error-frame', code: 42000020, message: 'StartSession event payload tts extra is null' },
        'bad-request',
        /error 42000020/,
      ],
      [
        { kind: 'error-frame', code: 55000001, message: 'ExceededConcurrentDurationLimit' },
        'rate-limited',
        /ExceededConcurrentDurationLimit/,
      ],
      [
        { kind: 'dialog-error', statusCode: '52000042', message: 'DialogAudioIdleTimeoutError' },
        'server',
        /DialogCommonError 52000042: DialogAudioIdleTimeoutError/,
      ],
      [{ kind: 'close', code: 1011, reason: 'oops' }, 'server', /closed \(code 1011: oops\)/],
      [{ kind: 'silence' }, 'timeout', /no event for 1000 ms/],
    ];
    for (const [fault, kind, message] of cases) {
      it(`${fault.kind}${'code' in fault ? ` ${String(fault.code)}` : ''} → ${kind}; the next utterance works`, async () => {
        const { fake, svc } = await setup({ logId: 'LOG42' });
        fake.faults.push(fault);
        const { error, events } = await collect(svc.respond(utterance()));
        expect(error?.kind).to.equal(kind);
        expect(error?.message).to.match(message);
        if (fault.kind === 'error-frame' || fault.kind === 'dialog-error')
          expect(error?.message).to.contain('(X-Tt-Logid LOG42)');
        expect(events[0]).to.deep.include({ kind: 'transcript', role: 'user' });
        const ok = await collect(svc.respond(utterance()));
        expect(ok.error).to.equal(undefined);
        expect(fake.connections).to.equal(2);
      });
    }

    it('ConnectionFailed and SessionFailed are errors with the service text', async () => {
      const a = await setup({ connectionFailed: 'quota exceeded' });
      const ea = await collect(a.svc.respond(utterance()));
      expect(ea.error?.message).to.match(/ConnectionFailed: quota exceeded/);
      const b = await setup({ sessionFailed: 'ClientError:InvalidSpeaker' });
      const eb = await collect(b.svc.respond(utterance()));
      expect(eb.error?.kind).to.equal('server');
      expect(eb.error?.message).to.match(/SessionFailed: ClientError:InvalidSpeaker/);
    });

    it('a refused access key is auth (401), without the key in any form of the error', async () => {
      const fake = await new FakeDoubaoServer({ appId: DOUBAO_APP, accessKey: 'the-right-one' }).start();
      keep(fake);
      const svc = new DoubaoVoiceService(doubaoConfig(fake.url));
      service(svc);
      const { error } = await collect(svc.respond(utterance()));
      expect(error).to.be.instanceOf(VoiceError);
      expect(error?.kind).to.equal('auth');
      expect(error?.status).to.equal(401);
      expect(error?.message).to.match(/HTTP 401: grant not found for access key \[redacted\]/);
      expect(error?.message).to.contain('X-Tt-Logid');
      expect(keyFree(error)).not.to.contain(DOUBAO_KEY);
      expect(keyFree(error)).not.to.contain(DOUBAO_KEY.slice(0, 10));
    });

    it('a server that echoes the key in an error frame has it redacted', async () => {
      const { fake, svc } = await setup();
      fake.faults.push({
        kind: 'error-frame',
        code: 45000001,
        message: `bad key ${DOUBAO_KEY.slice(0, 14)}***`,
      });
      const { error } = await collect(svc.respond(utterance()));
      expect(error?.kind).to.equal('bad-request');
      expect(keyFree(error)).not.to.contain(DOUBAO_KEY.slice(0, 9));
    });

    it('429 at the upgrade is rate-limited with Retry-After; a hung upgrade is a timeout', async () => {
      const a = await setup({ rejectUpgrade: { status: 429, headers: { 'retry-after': '2' } } });
      const ea = await collect(a.svc.respond(utterance()));
      expect(ea.error?.kind).to.equal('rate-limited');
      expect(ea.error?.retryAfterMs).to.equal(2000);
      const b = await setup({ hangUpgrade: true });
      const eb = await collect(b.svc.respond(utterance()));
      expect(eb.error?.kind).to.equal('timeout');
    });

    it('the code table: 4xxxxxxx bad-request, 5xxxxxxx server, 45000003 timeout', () => {
      expect(kindForDoubaoError(42000020, '')).to.equal('bad-request');
      expect(kindForDoubaoError(45000003, 'Abnormal silence audio')).to.equal('timeout');
      expect(kindForDoubaoError(52000022, 'AudioChatError')).to.equal('server');
      expect(kindForDoubaoError(undefined, 'x')).to.equal('server');
    });
  });

  describe('malformed server frames', () => {
    const sid = 'not-our-session';
    const frame = (bytes: number[]): Buffer => Buffer.from(bytes);
    const cases: Array<[string, DoubaoFault, RegExp]> = [
      ['a text frame', { kind: 'raw', data: '{"event":352}' }, /text frame; the protocol is binary/],
      ['protocol version 2', { kind: 'raw', data: frame([0x21, 0x94, 0x10, 0]) }, /protocol version 2/],
      [
        'a payload size past the end',
        { kind: 'raw', data: frame([0x11, 0x94, 0x10, 0, 0, 0, 1, 194, 0, 0, 0, 0, 0, 0, 0, 9, 123]) },
        /payload size 9 but 1 bytes follow/,
      ],
      [
        'a JSON event that is not JSON',
        { kind: 'raw', data: frame([0x11, 0x94, 0x10, 0, 0, 0, 1, 194, 0, 0, 0, 0, 0, 0, 0, 1, 123]) },
        /event 450 payload is not valid JSON/,
      ],
      [
        'a frame without an event',
        { kind: 'raw', data: frame([0x11, 0x90, 0x10, 0, 0, 0, 0, 2, 123, 125]) },
        /without an event/,
      ],
      [
        'another session id',
        {
          kind: 'raw',
          data: Buffer.concat([
            frame([0x11, 0x94, 0x10, 0, 0, 0, 1, 194, 0, 0, 0, sid.length]),
            Buffer.from(sid),
            frame([0, 0, 0, 2, 123, 125]),
          ]),
        },
        /event 450 names another session/,
      ],
      ['OGG audio', { kind: 'ogg' }, /OGG\/Opus, not the pcm_s16le/],
    ];
    for (const [what, fault, message] of cases) {
      it(`${what} → malformed`, async () => {
        const { fake, svc } = await setup();
        fake.faults.push(fault);
        const { error } = await collect(svc.respond(utterance()));
        expect(error?.kind).to.equal('malformed');
        expect(error?.message).to.match(message);
        expect((await collect(svc.respond(utterance()))).error).to.equal(undefined);
      });
    }

    it('a client-type frame from the server → malformed', async () => {
      const { fake, svc } = await setup();
      fake.faults.push({
        kind: 'raw',
        data: Buffer.from([
          0x11,
          (MessageType.FullClient << 4) | 4,
          0x10,
          0,
          0,
          0,
          0,
          1,
          0,
          0,
          0,
          2,
          123,
          125,
        ]),
      });
      const { error } = await collect(svc.respond(utterance()));
      expect(error?.kind).to.equal('malformed');
    });
  });

  describe('barge-in', () => {
    it('a new utterance interrupts the reply; ASRInfo gates out the old reply still in flight', async () => {
      const { fake, svc } = await setup({ chunks: 10, chunkDelayMs: 40, staleFrames: 3 });
      const first: VoiceEvent[] = [];
      let firstError: VoiceError | undefined;
      svc
        .respond(utterance())
        .subscribe({ next: (e) => first.push(e), error: (e: VoiceError) => (firstError = e) });
      await until('two audio chunks of the first reply', () => audioOf(first).length >= 2);
      const second = await collect(svc.respond(utterance()));
      expect(firstError?.kind).to.equal('cancelled');
      expect(second.error).to.equal(undefined);
      // Exactly the new reply: none of the old reply's in-flight sentences, text or end.
      expect(audioOf(second.events)).to.have.length(10);
      expect(second.events.at(-2)).to.deep.equal({
        kind: 'transcript',
        role: 'assistant',
        text: REPLY,
        final: true,
      });
      const ev = fake.events();
      expect(ev.indexOf(515)).to.be.greaterThan(ev.indexOf(400));
      expect(ev.lastIndexOf(200)).to.be.greaterThan(ev.indexOf(515));
    });

    it('truncate mid-reply interrupts it (final + done) and truncates the reply to what was heard', async () => {
      const { fake, svc } = await setup({ chunks: 10, chunkDelayMs: 40 });
      const seen: VoiceEvent[] = [];
      let completed = false;
      svc.respond(utterance()).subscribe({ next: (e) => seen.push(e), complete: () => (completed = true) });
      await until('three audio chunks', () => audioOf(seen).length >= 3);
      await svc.truncate('bud-1', 150);
      expect(completed).to.equal(true);
      expect(seen.at(-1)).to.deep.equal({ kind: 'done' });
      const truncate = fake.received.find((e) => e.event === 513);
      expect(truncate?.json).to.deep.equal({ item_id: fake.replies[0], audio_end_ms: 150 });
      expect(fake.events().indexOf(515)).to.be.lessThan(fake.events().indexOf(513));
      const next = await collect(svc.respond(utterance()));
      expect(next.error).to.equal(undefined);
      expect(audioOf(next.events)).to.have.length(10);
    });

    it('truncate after the reply clamps to the audio received; unknown devices are a no-op', async () => {
      const { fake, svc } = await setup();
      await collect(svc.respond(utterance()));
      await svc.truncate('bud-1', 60_000);
      await svc.truncate('bud-1', 120);
      await svc.truncate('never-seen', 100);
      const t = fake.received.filter((e) => e.event === 513).map((e) => e.json);
      expect(t).to.deep.equal([
        { item_id: fake.replies[0], audio_end_ms: 500 },
        { item_id: fake.replies[0], audio_end_ms: 120 },
      ]);
      expect(fake.events()).not.to.include(515);
    });

    it('unsubscribing mid-reply sends ClientInterrupt and emits nothing more', async () => {
      const { fake, svc } = await setup({ chunks: 10, chunkDelayMs: 40 });
      const seen: VoiceEvent[] = [];
      const sub = svc.respond(utterance()).subscribe((e) => seen.push(e));
      await until('an audio chunk', () => audioOf(seen).length >= 1);
      sub.unsubscribe();
      const n = seen.length;
      await until('ClientInterrupt', () => fake.events().includes(515));
      const next = await collect(svc.respond(utterance()));
      expect(seen.length).to.equal(n);
      expect(next.error).to.equal(undefined);
      expect(audioOf(next.events)).to.have.length(10);
    });
  });
});
