/**
 * The local (offline) voice service: its rule-based chat, finding and running its programs, its
 * typed errors (with stand-in programs: shell scripts on a private PATH), the default adapter choice,
 * and the real pocketsphinx + espeak-ng (pending when they are not installed).
 */
import { expect } from 'chai';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWav } from '@budlink/protocol/audio';
import { resample } from '../../../host/src/audio/index';
import { DID_NOT_CATCH, localReply, normaliseHeard } from '../../../host/src/voice/local-chat';
import {
  fillEmptyBand,
  findOnPath,
  localToolsOnPath,
  parseHypotheses,
  recognise,
  sealStreamedWav,
  speak,
  STT_RATE,
} from '../../../host/src/voice/local-tools';
import {
  createVoiceService,
  LocalVoiceService,
  voiceConfigFromEnv,
  type VoiceEvent,
} from '../../../host/src/voice/index';
import { audioOf, collect, localToolsMissing, pendingBecause, tone } from './helpers';

/** Monday 15 January 2024, 09:05 local time. */
const MORNING = new Date(2024, 0, 15, 9, 5);
const ctx = { now: MORNING };

describe('voice: local chat rules', () => {
  it('says what it heard', () => {
    expect(localReply('turn on the lights', ctx)).to.deep.equal({
      text: 'You said: turn on the lights.',
      rule: 'echo',
    });
  });

  it('answers the time and the date from the clock it is given', () => {
    expect(localReply('what time is it', ctx)).to.deep.equal({ text: 'It is 9:05 AM.', rule: 'time' });
    expect(localReply('what time is it', { now: new Date(2024, 0, 15, 0, 30) }).text).to.equal(
      'It is 12:30 AM.',
    );
    expect(localReply('tell me the time please', { now: new Date(2024, 0, 15, 12, 0) }).text).to.equal(
      'It is 12:00 PM.',
    );
    expect(localReply('what is the date today', ctx)).to.deep.equal({
      text: 'Today is Monday, January 15, 2024.',
      rule: 'date',
    });
    expect(localReply('which day is it', ctx).rule).to.equal('date');
  });

  it('greets a greeting and thanks thanks; a greeting only at the start', () => {
    expect(localReply('hello there', ctx).rule).to.equal('greeting');
    expect(localReply('Good morning!', ctx).rule).to.equal('greeting');
    expect(localReply('thank you', ctx)).to.deep.equal({ text: "You're welcome.", rule: 'thanks' });
    expect(localReply('they said hello', ctx).rule).to.equal('echo');
    // "this" is not "hi": words, not prefixes
    expect(localReply('history of rome', ctx).rule).to.equal('echo');
  });

  it('did not catch nothing, punctuation or blanks', () => {
    for (const heard of ['', '   ', '...', '\n']) {
      expect(localReply(heard, ctx)).to.deep.equal({ text: DID_NOT_CATCH, rule: 'empty' });
    }
    expect(normaliseHeard('  What  TIME, is it? ')).to.equal('what time is it');
  });
});

describe('voice: local tools', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'budlink-local-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const script = (name: string, body: string): string => {
    const p = join(dir, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  };

  it('finds executables on the PATH it is given, and only executables', () => {
    const p = script('pocketsphinx_continuous', 'exit 0');
    writeFileSync(join(dir, 'espeak-ng'), 'not executable');
    expect(findOnPath('pocketsphinx_continuous', { PATH: `/nonexistent:${dir}` })).to.equal(p);
    expect(findOnPath('espeak-ng', { PATH: dir })).to.equal(undefined);
    expect(findOnPath('pocketsphinx_continuous', {})).to.equal(undefined);
    expect(localToolsOnPath({ PATH: dir })).to.equal(false);
    script('espeak-ng', 'exit 0');
    expect(localToolsOnPath({ PATH: dir })).to.equal(true);
  });

  it("defaults to 'local' only when both programs are on PATH and no key or base URL is set", () => {
    script('pocketsphinx_continuous', 'exit 0');
    expect(voiceConfigFromEnv({ PATH: dir }).adapter).to.equal('loopback');
    script('espeak-ng', 'exit 0');
    expect(voiceConfigFromEnv({ PATH: dir }).adapter).to.equal('local');
    expect(voiceConfigFromEnv({ PATH: dir, OPENAI_API_KEY: 'sk-x' }).adapter).to.equal('rest');
    expect(voiceConfigFromEnv({ PATH: dir, BUDLINK_VOICE: 'loopback' }).adapter).to.equal('loopback');
    expect(voiceConfigFromEnv({ BUDLINK_VOICE: 'local' }).adapter).to.equal('local');
    expect(voiceConfigFromEnv({}, { adapter: 'local' }).adapter).to.equal('local');
    expect(createVoiceService(voiceConfigFromEnv({ BUDLINK_VOICE: 'LOCAL' }))).to.be.instanceOf(
      LocalVoiceService,
    );
  });

  it('fills the band a narrow-band utterance lacks with the same noise every time, above its Nyquist only', () => {
    const rms = (x: Int16Array): number => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);
    const silent = new Int16Array(16000);
    const filled = fillEmptyBand(silent, 8000);
    expect(fillEmptyBand(silent, 8000)).to.deep.equal(filled);
    // −45 dBFS white noise (184 RMS) keeps about the upper half of its power
    expect(rms(filled)).to.be.within(110, 160);
    // below 4 kHz, 20 dB less than that: what is left is the filters' transition band (3.6-4 kHz)
    expect(rms(resample(filled, 16000, 8000).subarray(400, 7600))).to.be.below(18);
    expect(fillEmptyBand(silent, 16000)).to.equal(silent);
    expect(fillEmptyBand(silent, 22050)).to.equal(silent);
  });

  it('joins the hypothesis lines and drops fillers', () => {
    expect(parseHypotheses('what time\n\nis it <sil> [noise]\n')).to.equal('what time is it');
    expect(parseHypotheses('\n')).to.equal('');
  });

  it('seals the placeholder sizes espeak-ng writes to a pipe, and leaves whole files alone', () => {
    const whole = encodeWav(new Int16Array([1, -2, 3]), 22050);
    expect(sealStreamedWav(whole)).to.equal(whole);
    const streamed = new Uint8Array(whole);
    const dv = new DataView(streamed.buffer);
    dv.setUint32(4, 0x7ffff024, true);
    dv.setUint32(40, 0x7ffff000, true);
    const sealed = new DataView(sealStreamedWav(streamed).buffer);
    expect(sealed.getUint32(40, true)).to.equal(6);
    expect(sealed.getUint32(4, true)).to.equal(whole.length - 8);
  });

  describe('typed errors', () => {
    const utterance = { deviceId: 'd', audio: tone(4000, 300, 8000), sampleRate: 8000 };

    it('missing-binary names the package to install', async () => {
      const svc = new LocalVoiceService({ env: { PATH: dir } });
      const a = await collect(svc.respond(utterance));
      expect(a.error?.kind).to.equal('missing-binary');
      expect(a.error?.message).to.include('apt-get install pocketsphinx');
      expect(a.events).to.deep.equal([]);
      script('pocketsphinx_continuous', 'exit 0');
      const b = await collect(svc.respond(utterance));
      expect(b.error?.kind).to.equal('missing-binary');
      expect(b.error?.message).to.include('apt-get install espeak-ng');
    });

    it('child-failed carries the failing line of the program it ran', async () => {
      script('pocketsphinx_continuous', 'echo "INFO: fine" >&2; echo "FATAL: boom at line 3" >&2; exit 3');
      script('espeak-ng', 'exit 0');
      const svc = new LocalVoiceService({ env: { PATH: dir }, sttArgs: ['-hmm', dir] });
      const { error } = await collect(svc.respond(utterance));
      expect(error?.kind).to.equal('child-failed');
      expect(error?.message).to.include('pocketsphinx_continuous exited 3: FATAL: boom at line 3');
    });

    it('child-failed when espeak-ng writes no WAV; timeout when a program hangs', async () => {
      script('pocketsphinx_continuous', 'echo "what time is it"');
      script('espeak-ng', 'echo "not a wav"');
      const svc = new LocalVoiceService({ env: { PATH: dir }, sttArgs: ['-hmm', dir], now: () => MORNING });
      const a = await collect(svc.respond(utterance));
      expect(a.error?.kind).to.equal('child-failed');
      expect(a.error?.message).to.include('espeak-ng wrote no WAV');
      expect(a.events[0]).to.deep.equal({
        kind: 'transcript',
        role: 'user',
        text: 'what time is it',
        final: true,
      });
      expect(a.events[1]).to.deep.include({ role: 'assistant', text: 'It is 9:05 AM.', final: false });
      script('espeak-ng', 'exec sleep 5');
      const slow = new LocalVoiceService({ env: { PATH: dir }, sttArgs: ['-hmm', dir], childTimeoutMs: 200 });
      const b = await collect(slow.respond(utterance));
      expect(b.error?.kind).to.equal('timeout');
    });

    it('close() ends a reply in flight with closed', async () => {
      script('pocketsphinx_continuous', 'exec sleep 5');
      script('espeak-ng', 'exit 0');
      const svc = new LocalVoiceService({ env: { PATH: dir }, sttArgs: ['-hmm', dir] });
      const pending = collect(svc.respond(utterance));
      setTimeout(() => void svc.close(), 100);
      const { error } = await pending;
      expect(error?.kind).to.equal('closed');
    });
  });
});

describe('voice: local service with the real pocketsphinx and espeak-ng', function () {
  this.timeout(60000);
  const missing = localToolsMissing();
  if (missing !== undefined) return pendingBecause(missing);
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'budlink-local-'));
    // A grammar of three commands: recognition of clean speech is then exact.
    writeFileSync(
      join(dir, 'commands.gram'),
      '#JSGF V1.0;\ngrammar budlink;\npublic <cmd> = what time is it | what is the date today | hello there;\n',
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const nonSilent = (events: VoiceEvent[]): number =>
    audioOf(events).reduce((n, a) => n + a.pcm.filter((v) => Math.abs(v) > 256).length, 0);

  it('espeak-ng speaks a sentence as 22.05 kHz audio that pocketsphinx reads back', async () => {
    const wav = await speak('what time is it');
    expect(wav.sampleRate).to.equal(22050);
    expect(wav.samples.length).to.be.greaterThan(22050 / 2);
    const heard = await recognise(wav.samples, wav.sampleRate, {
      args: ['-jsgf', join(dir, 'commands.gram')],
    });
    expect(heard).to.equal('what time is it');
  });

  it('answers a spoken question with the time, spoken; events in contract order', async () => {
    const wav = await speak('what time is it');
    const svc = new LocalVoiceService({ sttArgs: ['-jsgf', join(dir, 'commands.gram')], now: () => MORNING });
    const { events, error } = await collect(
      svc.respond({
        deviceId: 'd',
        audio: resample(wav.samples, wav.sampleRate, STT_RATE),
        sampleRate: STT_RATE,
      }),
      30000,
    );
    await svc.close();
    expect(error).to.equal(undefined);
    expect(events[0]).to.deep.equal({
      kind: 'transcript',
      role: 'user',
      text: 'what time is it',
      final: true,
    });
    const finals = events.filter((e) => e.kind === 'transcript' && e.role === 'assistant' && e.final);
    expect(finals).to.deep.equal([
      { kind: 'transcript', role: 'assistant', text: 'It is 9:05 AM.', final: true },
    ]);
    expect(events.indexOf(finals[0]!)).to.equal(events.length - 2);
    expect(events[events.length - 1]).to.deep.equal({ kind: 'done' });
    const audio = audioOf(events);
    expect(audio.length).to.be.greaterThan(3);
    expect(audio.every((a) => a.sampleRate === 22050 && a.pcm.length <= 2205)).to.equal(true);
    expect(nonSilent(events)).to.be.greaterThan(2205);
  });

  it("hears nothing in silence and says it didn't catch that (not an error)", async () => {
    const svc = new LocalVoiceService();
    const { events, error } = await collect(
      svc.respond({ deviceId: 'd', audio: new Int16Array(8000), sampleRate: 8000 }),
      30000,
    );
    await svc.close();
    expect(error).to.equal(undefined);
    expect(events[0]).to.deep.equal({ kind: 'transcript', role: 'user', text: '', final: true });
    expect(events).to.deep.include({
      kind: 'transcript',
      role: 'assistant',
      text: DID_NOT_CATCH,
      final: true,
    });
    expect(nonSilent(events)).to.be.greaterThan(2205);
  });

  it('runs with the default en-us language model on an 8 kHz utterance', async () => {
    const wav = await speak('hello there');
    const svc = new LocalVoiceService({ now: () => MORNING });
    const { events, error } = await collect(
      svc.respond({ deviceId: 'd', audio: resample(wav.samples, wav.sampleRate, 8000), sampleRate: 8000 }),
      30000,
    );
    await svc.close();
    expect(error).to.equal(undefined);
    const user = events[0];
    expect(user?.kind).to.equal('transcript');
    // What the default model makes of band-limited synthetic speech varies; the reply follows it.
    const heard = user?.kind === 'transcript' ? user.text : '';
    const reply = events.find((e) => e.kind === 'transcript' && e.role === 'assistant' && e.final);
    expect(reply).to.deep.include({ text: localReply(heard, ctx).text });
  });
});
