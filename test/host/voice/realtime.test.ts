import { expect } from 'chai';
import { inspect } from 'node:util';
import { RealtimeVoiceService, voiceConfigFromEnv, type VoiceConfig } from '../../../host/src/voice/index';
import { FakeRealtimeServer, type Generation } from '@budlink/test-support/fake-services';
import { audioOf, collect, KEY, keyFree, tone, tracked } from './helpers';
import { sleep, until } from '@budlink/test-support/wait';

function rtConfig(baseUrl: string, generation: Generation, extra: Record<string, string> = {}): VoiceConfig {
  return voiceConfigFromEnv({
    BUDLINK_VOICE: 'realtime',
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: baseUrl,
    BUDLINK_REALTIME_PROTOCOL: generation,
    BUDLINK_TIMEOUT_MS: '1000',
    BUDLINK_IDLE_TIMEOUT_MS: '1000',
    ...extra,
  });
}

const utterance = (deviceId = 'bud-1'): { deviceId: string; audio: Int16Array; sampleRate: number } => ({
  deviceId,
  audio: tone(8000, 300, 8000),
  sampleRate: 8000,
});

describe('voice: OpenAI Realtime adapter', function () {
  this.timeout(15000);
  const { fake: keep, service } = tracked('client events the fake server rejected');
  async function setup(
    generation: Generation,
    opts: Partial<FakeRealtimeServer['options']> = {},
    extra: Record<string, string> = {},
  ) {
    const fake = keep(await new FakeRealtimeServer({ generation, apiKey: KEY, ...opts }).start());
    const svc = service(new RealtimeVoiceService(rtConfig(fake.baseUrl, generation, extra)));
    return { fake, svc };
  }

  for (const generation of ['ga', 'beta'] as const) {
    it(`happy path with ${generation} event names: audio at 24 kHz, transcripts, done`, async () => {
      const { fake, svc } = await setup(generation);
      const { events, error } = await collect(svc.respond(utterance()));
      expect(error).to.equal(undefined);
      const audio = audioOf(events);
      expect(audio).to.have.length(5);
      expect(audio.every((a) => a.sampleRate === 24000 && a.pcm.length === 2400)).to.equal(true);
      expect(events).to.deep.include({
        kind: 'transcript',
        role: 'user',
        text: 'Tell me a joke.',
        final: true,
      });
      expect(events.slice(-2)).to.deep.equal([
        {
          kind: 'transcript',
          role: 'assistant',
          text: 'Why did the earbud cross the road? To get better reception.',
          final: true,
        },
        { kind: 'done' },
      ]);
      // Client side of the protocol: session.update first, 1 s of 8 kHz input → 24000 samples, commit, create.
      expect(fake.types()).to.deep.equal([
        'session.update',
        'input_audio_buffer.append',
        'input_audio_buffer.append',
        'input_audio_buffer.commit',
        'response.create',
      ]);
      expect(fake.appendedSamples).to.equal(24000);
      expect(fake.upgrades[0]).to.deep.include({
        url: '/v1/realtime?model=gpt-realtime',
        authorization: `Bearer ${KEY}`,
      });
      // Second turn reuses the session.
      const again = await collect(svc.respond(utterance()));
      expect(again.error).to.equal(undefined);
      expect(fake.connections).to.equal(1);
    });
  }

  it('a reply transcript past MAX_REPLY_CHARS is refused (malformed), not shown for ever', async () => {
    const { svc } = await setup('ga', { replyText: 'a'.repeat(17000) });
    const { error } = await collect(svc.respond(utterance()));
    expect(error?.kind).to.equal('malformed');
    expect(error?.message).to.match(/reply longer than 16000 characters, refused/);
  });

  it('sends the key only to the service at baseUrl, not to a realtime URL elsewhere', async () => {
    const fake = await new FakeRealtimeServer({ generation: 'ga' }).start();
    keep(fake);
    const elsewhere = fake.baseUrl.replace('127.0.0.1', 'localhost').replace(/^http/, 'ws') + '/realtime';
    const svc = new RealtimeVoiceService(rtConfig(fake.baseUrl, 'ga', { BUDLINK_REALTIME_URL: elsewhere }));
    service(svc);
    await collect(svc.respond(utterance()));
    expect(fake.upgrades).to.have.length(1);
    expect(fake.upgrades[0]?.authorization).to.equal(undefined);
  });

  it('sends the GA session shape: pcm 24 kHz both ways, voice, instructions, no server VAD', async () => {
    const { fake, svc } = await setup(
      'ga',
      {},
      { BUDLINK_TTS_VOICE: 'marin', BUDLINK_SYSTEM_PROMPT: 'Be kind.' },
    );
    await collect(svc.respond(utterance()));
    const s = fake.received[0]!.session as Record<string, unknown>;
    expect(s).to.deep.include({ type: 'realtime', instructions: 'Be kind.', output_modalities: ['audio'] });
    expect(s.audio).to.deep.equal({
      input: {
        format: { type: 'audio/pcm', rate: 24000 },
        transcription: { model: 'gpt-4o-mini-transcribe' },
        turn_detection: null,
      },
      output: { format: { type: 'audio/pcm', rate: 24000 }, voice: 'marin' },
    });
  });

  it('barge-in: truncate cancels the response in flight and truncates the item at the heard ms', async () => {
    const { fake, svc } = await setup('ga', { chunks: 30, chunkDelayMs: 15 });
    const kinds: string[] = [];
    let truncation: Promise<void> | undefined;
    await new Promise<void>((resolve, reject) => {
      svc.respond(utterance()).subscribe({
        next: (e) => {
          kinds.push(e.kind);
          // After 3 deltas (300 ms received) the user talks over it, having heard 180 ms.
          if (e.kind === 'audio' && kinds.filter((k) => k === 'audio').length === 3)
            truncation = svc.truncate('bud-1', 180);
        },
        complete: resolve,
        error: reject,
      });
    });
    await truncation;
    const cancel = fake.types().indexOf('response.cancel');
    const trunc = fake.received.find((e) => e.type === 'conversation.item.truncate');
    expect(cancel).to.be.greaterThan(0);
    expect(trunc).to.deep.include({ item_id: fake.assistantItems[0], content_index: 0, audio_end_ms: 180 });
    expect(fake.types().indexOf('conversation.item.truncate')).to.be.greaterThan(cancel);
    // The response ended early (cancelled) and the subscriber still got done.
    expect(kinds.filter((k) => k === 'audio').length).to.be.lessThan(30);
    expect(kinds[kinds.length - 1]).to.equal('done');
    // Next turn works on the same session.
    expect((await collect(svc.respond(utterance()))).error).to.equal(undefined);
  });

  it('a new utterance supersedes the reply in flight; late events of the old response stay out', async () => {
    const { fake, svc } = await setup('ga', { chunks: 5, chunkDelayMs: 30 });
    const first = collect(svc.respond(utterance()));
    // Let the first response start streaming, then talk again.
    await until('the first response.create', () => fake.types().includes('response.create'), 5000, 5);
    await sleep(40);
    const second = await collect(svc.respond(utterance()));
    const a = await first;
    expect(a.error?.kind).to.equal('cancelled');
    expect(second.error).to.equal(undefined);
    expect(audioOf(second.events)).to.have.length(5);
    expect(second.events.slice(-2)[0]).to.deep.include({
      role: 'assistant',
      text: 'Why did the earbud cross the road? To get better reception.',
    });
    expect(fake.types().filter((t) => t === 'response.cancel')).to.have.length(1);
  });

  it('truncate after the reply finished: no cancel, audio_end_ms clamped to the audio received', async () => {
    const { fake, svc } = await setup('beta');
    await collect(svc.respond(utterance()));
    await svc.truncate('bud-1', 99999);
    expect(fake.types()).not.to.include('response.cancel');
    expect(fake.received.find((e) => e.type === 'conversation.item.truncate')).to.deep.include({
      audio_end_ms: 500,
    });
    // Truncate again: first to 200 ms, then "800 ms" cannot reach past the 200 ms the server kept.
    await svc.truncate('bud-1', 200);
    await svc.truncate('bud-1', 800);
    expect(
      fake.received.filter((e) => e.type === 'conversation.item.truncate').map((e) => e.audio_end_ms),
    ).to.deep.equal([500, 200, 200]);
  });

  it('unsubscribing mid-reply sends response.cancel and the session stays usable', async () => {
    const { fake, svc } = await setup('ga', { chunks: 30, chunkDelayMs: 15 });
    await new Promise<void>((resolve) => {
      const sub = svc.respond(utterance()).subscribe((e) => {
        if (e.kind === 'audio') {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    const ok = await collect(svc.respond(utterance()));
    expect(ok.error).to.equal(undefined);
    expect(fake.types()).to.include('response.cancel');
    expect(fake.connections).to.equal(1);
  });

  describe('faults', () => {
    it('an error event reaches the subscriber with its kind; the next request works', async () => {
      const { fake, svc } = await setup('ga');
      fake.faults.push({
        kind: 'error-event',
        error: { type: 'invalid_request_error', code: 'invalid_value', message: 'Invalid modalities' },
      });
      const a = await collect(svc.respond(utterance()));
      expect(a.error?.kind).to.equal('bad-request');
      expect(a.error?.message).to.match(/Invalid modalities/);
      fake.faults.push({
        kind: 'error-event',
        error: { type: 'rate_limit_error', code: 'rate_limit_exceeded', message: 'slow down' },
      });
      expect((await collect(svc.respond(utterance()))).error?.kind).to.equal('rate-limited');
      expect((await collect(svc.respond(utterance()))).error).to.equal(undefined);
    });

    it('response.done with status failed is kind server', async () => {
      const { fake, svc } = await setup('beta');
      fake.faults.push({ kind: 'failed', message: 'The server had an error' });
      const a = await collect(svc.respond(utterance()));
      expect(a.error?.kind).to.equal('server');
      expect(a.error?.message).to.match(/The server had an error/);
    });

    it('close codes map to kinds and the next request reconnects', async () => {
      const { fake, svc } = await setup('ga');
      fake.faults.push({ kind: 'close', code: 1011, reason: 'internal error' });
      const a = await collect(svc.respond(utterance()));
      expect(a.error?.kind).to.equal('server');
      expect(a.error?.message).to.match(/code 1011: internal error/);
      fake.faults.push({ kind: 'close', code: 1000 });
      expect((await collect(svc.respond(utterance()))).error?.kind).to.equal('closed');
      expect((await collect(svc.respond(utterance()))).error).to.equal(undefined);
      expect(fake.connections).to.equal(3);
    });

    it('a silent server gives kind timeout, then a fresh session works', async () => {
      const { fake, svc } = await setup('ga', {}, { BUDLINK_IDLE_TIMEOUT_MS: '150' });
      fake.faults.push({ kind: 'silence' });
      expect((await collect(svc.respond(utterance()))).error?.kind).to.equal('timeout');
      expect((await collect(svc.respond(utterance()))).error).to.equal(undefined);
      expect(fake.connections).to.equal(2);
    });

    it('a non-JSON server message is kind malformed', async () => {
      const { fake, svc } = await setup('ga');
      fake.faults.push({ kind: 'garbage' });
      expect((await collect(svc.respond(utterance()))).error?.kind).to.equal('malformed');
      expect((await collect(svc.respond(utterance()))).error).to.equal(undefined);
    });

    it('an output rate no resampler takes (fractional, tiny, over 384 kHz) is kind malformed', async () => {
      // Found by test/fuzz: session.updated with rate 384001 made every later audio event 384001 Hz.
      const { fake, svc } = await setup('ga');
      for (const rate of [384001, 0.5, 1e-300, 24000.5]) {
        const session = { audio: { output: { format: { type: 'audio/pcm', rate } } } };
        fake.faults.push({
          kind: 'raw',
          messages: [
            { type: 'session.updated', session },
            { type: 'response.created', response: { id: 'r1' } },
            { type: 'response.output_audio.delta', response_id: 'r1', delta: 'AAABAA==' },
            { type: 'response.done', response: { id: 'r1', status: 'completed' } },
          ].map((e) => JSON.stringify(e)),
        });
        const { events, error } = await collect(svc.respond(utterance()));
        expect(error?.kind, String(rate)).to.equal('malformed');
        expect(error?.message).to.include(`output rate ${String(rate)}`);
        expect(audioOf(events)).to.deep.equal([]);
      }
      expect((await collect(svc.respond(utterance()))).error).to.equal(undefined);
    });

    it('rejected upgrades: 401 is auth, 429 is rate-limited with its Retry-After', async () => {
      const a = await setup('ga', { rejectUpgrade: { status: 429, headers: { 'retry-after': '7' } } });
      const r = await collect(a.svc.respond(utterance()));
      expect(r.error?.kind).to.equal('rate-limited');
      expect(r.error?.retryAfterMs).to.equal(7000);
      const fake = await new FakeRealtimeServer({ generation: 'ga', apiKey: 'other-key' }).start();
      keep(fake);
      const svc = new RealtimeVoiceService(rtConfig(fake.baseUrl, 'ga'));
      service(svc);
      const e = (await collect(svc.respond(utterance()))).error;
      expect(e?.kind).to.equal('auth');
      // The fake echoes the Authorization header it got: the key must not survive.
      expect(keyFree(e) + inspect(e)).not.to.include('CANARYKEY');
    });

    it('the API key appears in no error, even when the server puts it in messages and close reasons', async () => {
      const { fake, svc } = await setup('ga', {}, { BUDLINK_IDLE_TIMEOUT_MS: '150' });
      fake.faults.push(
        { kind: 'error-event', error: { type: 'invalid_request_error', message: `bad key ${KEY}` } },
        { kind: 'failed', message: `failed for ${KEY}` },
        { kind: 'close', code: 1008, reason: `key ${KEY.slice(0, 20)}` },
        { kind: 'silence' },
        { kind: 'garbage' },
      );
      const kinds: string[] = [];
      for (let i = 0; i < 5; i++) {
        const e = (await collect(svc.respond(utterance()))).error;
        kinds.push(String(e?.kind));
        expect(keyFree(e) + inspect(e)).not.to.include('CANARYKEY');
      }
      expect(kinds).to.deep.equal(['bad-request', 'server', 'auth', 'timeout', 'malformed']);
      await svc.close();
      const closed = (await collect(svc.respond(utterance()))).error;
      expect(closed?.kind).to.equal('closed');
    });

    it('a server that never completes the upgrade gives kind timeout', async () => {
      const { svc } = await setup('ga', { hangUpgrade: true }, { BUDLINK_TIMEOUT_MS: '150' });
      const e = (await collect(svc.respond(utterance()))).error;
      expect(e?.kind).to.equal('timeout');
    });

    it('connection refused is kind network', async () => {
      const { fake, svc } = await setup('ga');
      await fake.stop();
      const e = (await collect(svc.respond(utterance()))).error;
      expect(e?.kind).to.equal('network');
      expect(keyFree(e)).not.to.include('CANARYKEY');
    });
  });
});
