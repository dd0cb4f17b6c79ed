import { expect } from 'chai';
import { inspect } from 'node:util';
import { encodeWav } from '@budlink/protocol/audio';
import { RestVoiceService } from '../../../host/src/voice/rest';
import { createVoiceService } from '../../../host/src/voice/index';
import { FakeOpenAiRest, speechLevel } from '@budlink/test-support/fake-services';
import { audioOf, collect, KEY, keyFree, restConfig, tone, useFakeRest } from './helpers';
import { settle, until } from '@budlink/test-support/wait';

const utterance = (): { deviceId: string; audio: Int16Array; sampleRate: number } => ({
  deviceId: 'bud-1',
  audio: tone(4000, 300, 8000),
  sampleRate: 8000,
});

/** Sequence of distinct sample levels in emitted audio (each fake sentence is one constant level). */
function levels(pcm: Int16Array[]): number[] {
  const out: number[] = [];
  for (const p of pcm) for (const v of p) if (out[out.length - 1] !== v) out.push(v);
  return out;
}

describe('voice: OpenAI-compatible REST adapter', function () {
  this.timeout(15000);
  let fake: FakeOpenAiRest;
  useFakeRest((f) => (fake = f));

  it('happy path: transcript, streamed reply text, speech audio in sentence order, done', async () => {
    fake.options.reply = () => 'It is sunny and warm today. Expect a light breeze later on. Enjoy it!';
    const svc = createVoiceService(
      restConfig(fake.baseUrl, { BUDLINK_LANGUAGE: 'en', BUDLINK_STT_SAMPLE_RATE: '16000' }),
    );
    fake.options.language = 'en';
    const { events, error } = await collect(svc.respond(utterance()));
    expect(error).to.equal(undefined);
    expect(events[0]).to.deep.equal({
      kind: 'transcript',
      role: 'user',
      text: 'What is the weather like today?',
      final: true,
    });
    const finals = events.filter((e) => e.kind === 'transcript' && e.role === 'assistant' && e.final);
    expect(finals).to.deep.equal([
      {
        kind: 'transcript',
        role: 'assistant',
        text: 'It is sunny and warm today. Expect a light breeze later on. Enjoy it!',
        final: true,
      },
    ]);
    const audio = audioOf(events);
    expect(audio.every((a) => a.sampleRate === 24000)).to.equal(true);
    expect(levels(audio.map((a) => a.pcm))).to.deep.equal(
      ['It is sunny and warm today.', 'Expect a light breeze later on.', 'Enjoy it!'].map(speechLevel),
    );
    expect(events[events.length - 1]).to.deep.equal({ kind: 'done' });

    // What the server received: multipart WAV resampled to 16 kHz as configured, model, json format,
    // language; bearer auth.
    const stt = fake.requests.find((r) => r.route === 'transcriptions')!;
    expect(stt.authorization).to.equal(`Bearer ${KEY}`);
    expect(stt.fields).to.include({
      model: 'gpt-4o-mini-transcribe',
      response_format: 'json',
      language: 'en',
    });
    expect(stt.wav).to.deep.equal({ sampleRate: 16000, samples: 8000 });
    const chat = fake.requests.find((r) => r.route === 'chat')!;
    expect(chat.json).to.include({ model: 'gpt-4o-mini', stream: true });
    const tts = fake.requests.filter((r) => r.route === 'speech');
    expect(tts.map((r) => r.json?.input)).to.deep.equal([
      'It is sunny and warm today.',
      'Expect a light breeze later on.',
      'Enjoy it!',
    ]);
    expect(tts[0]!.json).to.include({ model: 'gpt-4o-mini-tts', voice: 'alloy', response_format: 'pcm' });
    await svc.close();
  });

  it('speaks while thinking: the first reply audio arrives before the chat stream ends', async () => {
    fake.options.reply = () => 'Here is the first sentence. And here is a second one that comes later.';
    const release = fake.holdChat();
    const svc = createVoiceService(restConfig(fake.baseUrl));
    let chatOpenAtFirstAudio: boolean | undefined;
    const done = new Promise<void>((resolve, reject) => {
      svc.respond(utterance()).subscribe({
        next: (e) => {
          if (e.kind === 'audio' && chatOpenAtFirstAudio === undefined) {
            chatOpenAtFirstAudio = !fake.log.includes('chat:end');
            release();
          }
        },
        complete: resolve,
        error: reject,
      });
    });
    await done;
    expect(chatOpenAtFirstAudio).to.equal(true);
    expect(fake.log.indexOf('speech:Here is the first sentence.')).to.be.lessThan(
      fake.log.indexOf('chat:released'),
    );
    await svc.close();
  });

  it('mixes servers per endpoint; the key only goes to the main base URL', async () => {
    const tts = await new FakeOpenAiRest({ speechFormat: 'wav', speechRate: 22050 }).start();
    try {
      const svc = createVoiceService(restConfig(fake.baseUrl, { BUDLINK_TTS_BASE_URL: tts.baseUrl }));
      const { events, error } = await collect(svc.respond(utterance()));
      expect(error).to.equal(undefined);
      expect(audioOf(events).every((a) => a.sampleRate === 22050)).to.equal(true);
      expect(fake.requests.map((r) => r.route)).to.deep.equal(['transcriptions', 'chat']);
      expect(tts.requests.length).to.equal(2);
      expect(tts.requests.every((r) => r.route === 'speech' && r.authorization === undefined)).to.equal(true);
      await svc.close();
      expect(tts.violations).to.deep.equal([]);
    } finally {
      await tts.stop();
    }
  });

  it('a long reply (30 sentences) is spoken in full, in order, without listener-leak warnings', async () => {
    const sentences = Array.from({ length: 30 }, (_, i) => `This is sentence number ${String(i)}.`);
    fake.options.reply = () => sentences.join(' ');
    fake.options.msPerChar = 1;
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const svc = createVoiceService(restConfig(fake.baseUrl));
      const { events, error } = await collect(svc.respond(utterance()));
      expect(error).to.equal(undefined);
      expect(levels(audioOf(events).map((a) => a.pcm))).to.deep.equal(sentences.map(speechLevel));
      await svc.close();
      await settle();
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).to.deep.equal([]);
  });

  it('uploads the utterance at its own rate when no STT rate is configured', async () => {
    const svc = createVoiceService(restConfig(fake.baseUrl));
    await collect(svc.respond(utterance()));
    expect(fake.requests.find((r) => r.route === 'transcriptions')!.wav).to.deep.equal({
      sampleRate: 8000,
      samples: 4000,
    });
    await svc.close();
  });

  it('keeps sentence order even when a later sentence is synthesised faster', async () => {
    fake.options.reply = () => 'This first one is slow to make. The second is quick. Third one here.';
    fake.options.speechDelayMs = (t) => (t.startsWith('This first') ? 150 : 0);
    const svc = createVoiceService(restConfig(fake.baseUrl));
    const { events, error } = await collect(svc.respond(utterance()));
    expect(error).to.equal(undefined);
    expect(levels(audioOf(events).map((a) => a.pcm))).to.deep.equal(
      ['This first one is slow to make.', 'The second is quick.', 'Third one here.'].map(speechLevel),
    );
    await svc.close();
  });

  it('keeps history per device and sends it with the system prompt', async () => {
    let n = 0;
    fake.options.reply = () => `Answer number ${String(++n)}.`;
    const svc = new RestVoiceService(restConfig(fake.baseUrl, { BUDLINK_SYSTEM_PROMPT: 'Be brief.' }));
    await collect(svc.respond(utterance()));
    await collect(svc.respond({ ...utterance(), deviceId: 'bud-2' }));
    await collect(svc.respond(utterance()));
    const chats = fake.requests.filter((r) => r.route === 'chat').map((r) => r.json?.messages);
    expect(chats[0]).to.deep.equal([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'What is the weather like today?' },
    ]);
    // bud-2 starts fresh.
    expect(chats[1]).to.have.length(2);
    // bud-1's second turn carries its first exchange.
    expect(chats[2]).to.deep.equal([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'What is the weather like today?' },
      { role: 'assistant', content: 'Answer number 1.' },
      { role: 'user', content: 'What is the weather like today?' },
    ]);
    expect(svc.history('bud-2')).to.deep.equal([
      { role: 'user', content: 'What is the weather like today?' },
      { role: 'assistant', content: 'Answer number 2.' },
    ]);
    await svc.close();
  });

  it('reports the real rate of WAV speech (22050 Hz), never an assumed one', async () => {
    fake.options.speechFormat = 'wav';
    fake.options.speechRate = 22050;
    const svc = createVoiceService(restConfig(fake.baseUrl));
    const { events, error } = await collect(svc.respond(utterance()));
    expect(error).to.equal(undefined);
    const audio = audioOf(events);
    expect(audio.length).to.be.greaterThan(0);
    expect(audio.every((a) => a.sampleRate === 22050)).to.equal(true);
    // 10 ms per character of the two default sentences, at 22050 Hz.
    const samples = audio.reduce((s, a) => s + a.pcm.length, 0);
    const chars = 'It is sunny and warm.'.length; // lower bound sanity: not empty, whole sentences
    expect(samples).to.be.greaterThan(chars * 220);
    await svc.close();
  });

  it('uses the rate a pcm response states in Content-Type, else the documented 24 kHz', async () => {
    fake.options.pcmContentType = 'audio/pcm;rate=16000';
    fake.options.speechRate = 16000;
    const svc = createVoiceService(restConfig(fake.baseUrl));
    const a = await collect(svc.respond(utterance()));
    expect(audioOf(a.events).every((e) => e.sampleRate === 16000)).to.equal(true);
    fake.options.pcmContentType = undefined;
    fake.options.speechRate = 24000;
    const b = await collect(svc.respond(utterance()));
    expect(audioOf(b.events).every((e) => e.sampleRate === 24000)).to.equal(true);
    await svc.close();
  });

  it('asks for wav when configured and decodes it', async () => {
    fake.options.speechRate = 11025;
    const svc = createVoiceService(restConfig(fake.baseUrl, { BUDLINK_SPEECH_FORMAT: 'wav' }));
    const { events } = await collect(svc.respond(utterance()));
    expect(
      fake.requests.filter((r) => r.route === 'speech').every((r) => r.json?.response_format === 'wav'),
    ).to.equal(true);
    expect(audioOf(events).every((e) => e.sampleRate === 11025)).to.equal(true);
    await svc.close();
  });

  it('parses SSE with CRLF, comments and writes split at every few bytes', async () => {
    fake.options.lineEnding = '\r\n';
    fake.options.comments = true;
    fake.options.writeBytes = 3;
    fake.options.reply = () => 'Grüße aus Köln – schön! Zweiter Satz hier.';
    const svc = createVoiceService(restConfig(fake.baseUrl));
    const { events, error } = await collect(svc.respond(utterance()));
    expect(error).to.equal(undefined);
    const final = events.find((e) => e.kind === 'transcript' && e.role === 'assistant' && e.final);
    expect(final).to.deep.include({ text: 'Grüße aus Köln – schön! Zweiter Satz hier.' });
    await svc.close();
  });

  it('an empty transcript ends the turn without chat or speech', async () => {
    fake.options.transcript = '  ';
    const svc = createVoiceService(restConfig(fake.baseUrl));
    const { events } = await collect(svc.respond(utterance()));
    expect(events).to.deep.equal([
      { kind: 'transcript', role: 'user', text: '', final: true },
      { kind: 'done' },
    ]);
    expect(fake.requests.map((r) => r.route)).to.deep.equal(['transcriptions']);
    await svc.close();
  });

  it('unsubscribing aborts the requests in flight', async () => {
    fake.options.reply = () => 'A long answer that the user will not wait for. It goes on and on.';
    fake.holdChat();
    const svc = createVoiceService(restConfig(fake.baseUrl));
    await new Promise<void>((resolve) => {
      const sub = svc.respond(utterance()).subscribe((e) => {
        if (e.kind === 'audio') {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    // The held chat stream is closed by the client, not finished by the server.
    await until('the client to close the chat stream', () => fake.log.includes('chat:client-closed'), 2000);
    expect(fake.log).to.include('chat:client-closed');
    expect(fake.log).not.to.include('chat:end');
    await svc.close();
  });

  describe('barge-in (truncate)', () => {
    it('cuts the last assistant message to the share of audio heard, by sentence', async () => {
      // 10 ms per character: sentence 1 = 270 ms, sentence 2 = 310 ms.
      fake.options.reply = () => 'It is sunny and warm today. Expect a light breeze later on.';
      const svc = new RestVoiceService(restConfig(fake.baseUrl));
      await collect(svc.respond(utterance()));
      await svc.truncate('bud-1', 270 + 155); // all of sentence 1, half of sentence 2
      expect(svc.history('bud-1')[1]).to.deep.equal({
        role: 'assistant',
        content: 'It is sunny and warm today. Expect a light…',
      });
      await svc.truncate('bud-1', 100);
      expect(svc.history('bud-1')[1]).to.deep.equal({ role: 'assistant', content: 'It is…' });
      // Re-cut from the original: all heard restores the whole reply.
      await svc.truncate('bud-1', 5000);
      expect(svc.history('bud-1')[1]).to.deep.equal({
        role: 'assistant',
        content: 'It is sunny and warm today. Expect a light breeze later on.',
      });
      await svc.truncate('bud-1', 0);
      expect(svc.history('bud-1')).to.deep.equal([
        { role: 'user', content: 'What is the weather like today?' },
      ]);
      await svc.close();
    });

    it('cuts text without spaces (CJK) at the character', async () => {
      fake.options.reply = () => '今天天气很好。我们去公园散步吧！';
      const svc = new RestVoiceService(restConfig(fake.baseUrl));
      await collect(svc.respond(utterance()));
      // 10 ms per character: sentence 1 = 70 ms, sentence 2 = 90 ms of which 50 ms heard.
      await svc.truncate('bud-1', 70 + 50);
      expect(svc.history('bud-1')[1]).to.deep.equal({
        role: 'assistant',
        content: '今天天气很好。我们去公园…',
      });
      await svc.close();
    });

    it('truncate during a reply stops it; what was spoken stays in history', async () => {
      fake.options.reply = () => 'It is sunny and warm today. Expect a light breeze later on.';
      const release = fake.holdChat();
      const svc = new RestVoiceService(restConfig(fake.baseUrl));
      const events: string[] = [];
      let truncated = false;
      const second = speechLevel('Expect a light breeze later on.');
      const finished = new Promise<void>((resolve, reject) => {
        svc.respond(utterance()).subscribe({
          next: (e) => {
            events.push(e.kind);
            if (e.kind === 'audio') release();
            // Barge in while the second sentence is playing, having heard 100 ms.
            if (e.kind === 'audio' && e.pcm[0] === second && !truncated) {
              truncated = true;
              void svc.truncate('bud-1', 100);
            }
          },
          complete: resolve,
          error: reject,
        });
      });
      await finished;
      expect(truncated).to.equal(true);
      expect(events[events.length - 1]).to.equal('done');
      expect(svc.history('bud-1')[1]).to.deep.equal({ role: 'assistant', content: 'It is…' });
      await svc.close();
    });
  });

  describe('faults', () => {
    it('429 with Retry-After is honoured, then the request succeeds', async () => {
      fake.fail('chat', { kind: 'status', status: 429, headers: { 'retry-after-ms': '40' } });
      const waits: number[] = [];
      const svc = new RestVoiceService(restConfig(fake.baseUrl), { onRetry: (i) => waits.push(i.delayMs) });
      const { error } = await collect(svc.respond(utterance()));
      expect(error).to.equal(undefined);
      expect(waits).to.deep.equal([40]);
      await svc.close();
    });

    it('429 asking for longer than the cap fails fast with rate-limited and the wait', async () => {
      fake.fail('transcriptions', { kind: 'status', status: 429, headers: { 'retry-after': '30' } });
      const svc = createVoiceService(restConfig(fake.baseUrl));
      const { error } = await collect(svc.respond(utterance()));
      expect(error?.kind).to.equal('rate-limited');
      expect(error?.status).to.equal(429);
      expect(error?.retryAfterMs).to.equal(30000);
      await svc.close();
    });

    it('5xx retries with growing backoff, bounded; gives up with kind server', async () => {
      fake.options.reply = () => 'Only one sentence here.';
      fake.fail('speech', ...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 503 })));
      const waits: number[] = [];
      const svc = new RestVoiceService(restConfig(fake.baseUrl, { BUDLINK_RETRY_BASE_MS: '20' }), {
        onRetry: (i) => waits.push(i.delayMs),
      });
      const { error } = await collect(svc.respond(utterance()));
      expect(error?.kind).to.equal('server');
      expect(error?.message).to.match(/speech synthesis: HTTP 503 after 3 attempts/);
      expect(waits).to.have.length(2);
      expect(waits[0]).to.be.within(15, 25);
      expect(waits[1]).to.be.within(30, 50);
      // Service still usable.
      const ok = await collect(svc.respond(utterance()));
      expect(ok.error).to.equal(undefined);
      await svc.close();
    });

    it('a 500 then success is invisible to the subscriber', async () => {
      fake.fail('transcriptions', { kind: 'status', status: 500 });
      const svc = createVoiceService(restConfig(fake.baseUrl));
      const { error, events } = await collect(svc.respond(utterance()));
      expect(error).to.equal(undefined);
      expect(events[events.length - 1]).to.deep.equal({ kind: 'done' });
      await svc.close();
    });

    it('a hung server gives a timeout; the next request works', async () => {
      fake.fail('chat', { kind: 'hang' });
      const svc = createVoiceService(restConfig(fake.baseUrl, { BUDLINK_TIMEOUT_MS: '200' }));
      const { error } = await collect(svc.respond(utterance()));
      expect(error?.kind).to.equal('timeout');
      expect(error?.message).to.match(/chat completion: no response within 200 ms/);
      const ok = await collect(svc.respond(utterance()));
      expect(ok.error).to.equal(undefined);
      await svc.close();
    });

    it('malformed SSE JSON and malformed transcription JSON give kind malformed', async () => {
      fake.fail('chat', {
        kind: 'raw',
        contentType: 'text/event-stream',
        body: 'data: {"choices": [ nope\n\n',
      });
      const svc = createVoiceService(restConfig(fake.baseUrl));
      const a = await collect(svc.respond(utterance()));
      expect(a.error?.kind).to.equal('malformed');
      expect(a.error?.message).to.match(/chat completion stream: response is not valid JSON/);
      fake.fail('transcriptions', { kind: 'raw', contentType: 'application/json', body: '{"txt": 1}' });
      const b = await collect(svc.respond(utterance()));
      expect(b.error?.kind).to.equal('malformed');
      // One sentence per reply, so each scripted speech fault meets exactly one request.
      fake.options.reply = () => 'Only one sentence here.';
      fake.fail('speech', { kind: 'raw', contentType: 'audio/mpeg', body: 'ID3....' });
      const c = await collect(svc.respond(utterance()));
      expect(c.error?.kind).to.equal('malformed');
      expect(c.error?.message).to.match(/audio\/mpeg/);
      fake.fail('speech', { kind: 'raw', contentType: 'application/octet-stream', body: 'abc' });
      expect((await collect(svc.respond(utterance()))).error?.kind).to.equal('malformed');
      fake.fail('speech', { kind: 'raw', contentType: 'application/octet-stream', body: 'abcde' });
      expect((await collect(svc.respond(utterance()))).error?.message).to.match(/half a sample/);
      fake.fail('speech', { kind: 'raw', contentType: 'audio/wav', body: 'RIFF\x10\x00\x00\x00WAVEfmt ' });
      expect((await collect(svc.respond(utterance()))).error?.kind).to.equal('malformed');
      const ok = await collect(svc.respond(utterance()));
      expect(ok.error).to.equal(undefined);
      await svc.close();
    });

    it('WAV speech at a rate the bridge cannot resample (over 384 kHz, under 1 kHz) is malformed', async () => {
      // Found while triaging a test/fuzz finding: a 2 MHz WAV reached the bridge's resampler, whose
      // ResampleError then escaped as an uncaught exception.
      fake.options.reply = () => 'Only one sentence here.';
      const svc = createVoiceService(restConfig(fake.baseUrl));
      for (const rate of [2_000_000, 999]) {
        fake.fail('speech', {
          kind: 'raw',
          contentType: 'audio/wav',
          body: encodeWav(new Int16Array(64), rate),
        });
        const { events, error } = await collect(svc.respond(utterance()));
        expect(error?.kind, String(rate)).to.equal('malformed');
        expect(error?.message).to.include(`WAV at ${String(rate)} Hz`);
        expect(audioOf(events)).to.deep.equal([]);
      }
      await svc.close();
    });

    it('a transcription answer too large to be one is refused (malformed), not read into memory', async () => {
      fake.fail('transcriptions', {
        kind: 'raw',
        contentType: 'application/json',
        body: `{"text": "${'a'.repeat(5 << 20)}"}`,
      });
      const svc = createVoiceService(restConfig(fake.baseUrl));
      const a = await collect(svc.respond(utterance()));
      expect(a.error?.kind).to.equal('malformed');
      expect(a.error?.message).to.match(/response body over 4194304 bytes, refused/);
      expect((await collect(svc.respond(utterance()))).error).to.equal(undefined);
      await svc.close();
    });

    it('a chat stream that never ends is refused past MAX_REPLY_CHARS (malformed), not spoken for ever', async () => {
      const event = `data: ${JSON.stringify({ choices: [{ delta: { content: 'a'.repeat(10) } }] })}\n\n`;
      fake.fail('chat', { kind: 'raw', contentType: 'text/event-stream', body: event.repeat(1700) });
      const svc = createVoiceService(restConfig(fake.baseUrl));
      const a = await collect(svc.respond(utterance()));
      expect(a.error?.kind).to.equal('malformed');
      expect(a.error?.message).to.match(/reply longer than 16000 characters, refused/);
      await svc.close();
    });

    it('a speech answer that is text, not audio, is refused (malformed) naming the endpoint, not played', async () => {
      const body = '<html><body>Service Unavailable</body></html>'; // an even byte count: plays as noise
      fake.fail('speech', { kind: 'raw', contentType: 'text/html; charset=utf-8', body });
      const svc = createVoiceService(restConfig(fake.baseUrl));
      const a = await collect(svc.respond(utterance()));
      expect(a.error?.kind).to.equal('malformed');
      expect(a.error?.message).to.match(
        /\/audio\/speech\): server answered text\/html; charset=utf-8, not audio/,
      );
      expect(a.events.filter((e) => e.kind === 'audio')).to.have.length(0);
      await svc.close();
    });

    it('a chat stream cut before [DONE] is a network error, not a silent short reply', async () => {
      fake.fail('chat', { kind: 'cut' });
      const svc = createVoiceService(restConfig(fake.baseUrl, { BUDLINK_MAX_RETRIES: '0' }));
      const { error } = await collect(svc.respond(utterance()));
      expect(error?.kind).to.equal('network');
      await svc.close();
    });

    it('a server error event inside the stream is kind server', async () => {
      fake.fail('chat', {
        kind: 'raw',
        contentType: 'text/event-stream',
        body: 'data: {"error": {"message": "model overloaded"}}\n\n',
      });
      const svc = createVoiceService(restConfig(fake.baseUrl));
      const { error } = await collect(svc.respond(utterance()));
      expect(error?.kind).to.equal('server');
      expect(error?.message).to.match(/model overloaded/);
      await svc.close();
    });

    it('connection refused is kind network after bounded retries', async () => {
      const url = fake.baseUrl;
      await fake.stop();
      const svc = createVoiceService(restConfig(url));
      const { error } = await collect(svc.respond(utterance()));
      expect(error?.kind).to.equal('network');
      await svc.close();
    });

    it('400 is bad-request without retry; 401 is auth', async () => {
      fake.fail('chat', { kind: 'status', status: 400, body: '{"error":{"message":"context too long"}}' });
      const svc = createVoiceService(restConfig(fake.baseUrl));
      const a = await collect(svc.respond(utterance()));
      expect(a.error?.kind).to.equal('bad-request');
      expect(a.error?.message).to.match(/context too long/);
      expect(fake.requests.filter((r) => r.route === 'chat')).to.have.length(1);
      const wrong = createVoiceService(
        restConfig(fake.baseUrl, { OPENAI_API_KEY: 'sk-wrong-key-000000000' }),
      );
      const b = await collect(wrong.respond(utterance()));
      expect(b.error?.kind).to.equal('auth');
      await svc.close();
      await wrong.close();
    });

    it('the API key appears in no error of any kind, even when the server echoes it', async () => {
      // The fake echoes the full key it received in its 401 message.
      const echo = await new FakeOpenAiRest({ apiKey: 'something-else' }).start();
      const errors: unknown[] = [];
      try {
        const svc = createVoiceService(restConfig(echo.baseUrl));
        errors.push((await collect(svc.respond(utterance()))).error);
        await svc.close();
      } finally {
        await echo.stop();
      }
      const faults = [
        () =>
          fake.fail('chat', {
            kind: 'status',
            status: 429,
            headers: { 'retry-after': '99' },
            body: `{"error":{"message":"slow down ${KEY}"}}`,
          }),
        () =>
          fake.fail(
            'chat',
            { kind: 'status', status: 500, body: `{"error":{"message":"boom ${KEY}"}}` },
            { kind: 'status', status: 500 },
            { kind: 'status', status: 500 },
          ),
        () =>
          fake.fail('chat', {
            kind: 'status',
            status: 400,
            body: `{"error":{"message":"bad ${KEY.slice(0, 14)}"}}`,
          }),
        () =>
          fake.fail('chat', {
            kind: 'raw',
            contentType: 'text/event-stream',
            body: `data: {"error":"${KEY}"}\n\n`,
          }),
        () => fake.fail('chat', { kind: 'raw', contentType: 'text/event-stream', body: `data: ${KEY}\n\n` }),
        () => fake.fail('chat', { kind: 'hang' }),
        () => fake.fail('chat', { kind: 'cut' }),
        () => fake.fail('transcriptions', { kind: 'raw', contentType: 'application/json', body: KEY }),
      ];
      const svc = createVoiceService(
        restConfig(fake.baseUrl, { BUDLINK_TIMEOUT_MS: '150', BUDLINK_MAX_RETRIES: '2' }),
      );
      for (const f of faults) {
        f();
        errors.push((await collect(svc.respond(utterance()))).error);
      }
      await svc.close();
      errors.push((await collect(svc.respond(utterance()))).error); // closed
      const kinds = errors.map((e) => (e as { kind: string } | undefined)?.kind);
      expect(kinds).to.deep.equal([
        'auth',
        'rate-limited',
        'server',
        'bad-request',
        'server',
        'malformed',
        'timeout',
        'network',
        'malformed',
        'closed',
      ]);
      for (const e of errors) {
        const text = keyFree(e) + inspect(e);
        expect(text).not.to.include('CANARYKEY');
        expect(text).not.to.include(KEY.slice(0, 12));
      }
    });
  });
});
