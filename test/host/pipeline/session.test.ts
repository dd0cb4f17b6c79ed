/**
 * The composed device session against a scripted device (frames in, frames out): handshake,
 * utterance → GATE → voice → PLAY paced by CREDIT → PLAY_END, barge-in, voice errors, verifier
 * rejection, protocol version mismatch, garbage bytes. Runs on virtual time (test/support/virtual-time.ts).
 */
import { expect } from 'chai';
import { Subject, of, type Subscription } from 'rxjs';
import {
  AssistantState,
  Codec,
  EndReason,
  ErrorCode,
  FrameType,
  PlayEndReason,
  Verdict,
  type AckFrame,
  type EndFrame,
  type EndReasonCode,
  type Frame,
} from '@budlink/protocol';
import type { Connection } from '@budlink/link';
import { runSession, type SessionOptions } from '../../../host/src/pipeline/session';
import type { SessionEvent, UtteranceReport, WakeVerifier } from '../../../host/src/pipeline/types';
import {
  VoiceError,
  type VoiceEvent,
  type VoiceRequest,
  type VoiceService,
} from '../../../host/src/voice/types';
import { audio, bytes, end, wake } from './marbles';
import { ScriptedEarbud } from '@budlink/test-support/scripted-earbud';
import { VirtualTime } from '@budlink/test-support/virtual-time';
import { FakeConnection, ReadableFakeConnection, ScriptedVoice, hello } from './session-doubles';

function speakUtterance(conn: FakeConnection, stream: number, fill = 140): void {
  conn.send(wake(stream));
  for (let s = 1; s <= 3; s++) conn.send(audio(stream, s, fill, 10));
  conn.send(end(stream, 4, 30));
}

/** runSession on a fake connection, on virtual time, with the options these tests share. */
function runScripted(
  vt: VirtualTime,
  conn: FakeConnection,
  options: Partial<SessionOptions> & { voice: VoiceService },
): { sub: Subscription; events: SessionEvent[]; logs: string[]; reports: () => UtteranceReport[] } {
  const events: SessionEvent[] = [];
  const logs: string[] = [];
  const sub = runSession(of(conn), {
    deviceId: 'dev',
    scheduler: vt.scheduler,
    now: vt.now,
    keepAliveMs: 0,
    keepAliveTimeoutMs: 0,
    playInitialWindow: 2,
    logger: { log: (level, msg) => logs.push(`${level} ${msg}`) },
    ...options,
  }).subscribe((e) => events.push(e));
  const reports = (): UtteranceReport[] =>
    events.filter((e) => e.kind === 'utterance').map((e) => (e as { report: UtteranceReport }).report);
  return { sub, events, logs, reports };
}

describe('pipeline/session (scripted device)', () => {
  let sub: Subscription | undefined;
  let vt: VirtualTime;
  beforeEach(() => {
    vt = new VirtualTime();
  });
  afterEach(() => sub?.unsubscribe());

  function start(voice: VoiceService, verifier?: WakeVerifier, extra?: Partial<SessionOptions>) {
    const conn = new FakeConnection();
    const run = runScripted(vt, conn, { voice, verifier, ...extra });
    sub = run.sub;
    return { conn, events: run.events, logs: run.logs, reports: run.reports };
  }

  it('answers HELLO with WELCOME (payload = min(device, link)) and relays an utterance, paced by CREDIT', async () => {
    const voice = new ScriptedVoice();
    const { conn, reports } = start(voice);
    conn.send(hello());
    await vt.until('WELCOME', () => conn.of(FrameType.WELCOME).length === 1);
    const w = conn.of(FrameType.WELCOME)[0];
    expect(w).to.include({
      payloadSize: 128,
      codec: Codec.PCM_U8,
      sampleRate: 8000,
      protoMajor: 1,
      nonce: 1234,
    });
    speakUtterance(conn, 1);
    await vt.until('voice request', () => voice.requests.length === 1);
    expect(conn.of(FrameType.GATE)[0]).to.include({ stream: 1, verdict: Verdict.ACCEPT });
    expect(conn.of(FrameType.ACK).at(-1)).to.include({ stream: 1, cumulative: 5 });
    const req = voice.requests[0] as VoiceRequest;
    expect(req.sampleRate).to.equal(8000);
    expect(Array.from(req.audio)).to.deep.equal(new Array(30).fill((140 - 128) << 8));

    // 5 frames' worth of reply (124 samples per PLAY at payload 128), same rate: no resampling.
    const reply = voice.replies[0] as Subject<VoiceEvent>;
    reply.next({ kind: 'audio', pcm: new Int16Array(124 * 5).fill(256), sampleRate: 8000 });
    reply.next({ kind: 'done' });
    reply.complete();
    await vt.until('initial window', () => conn.of(FrameType.PLAY).length === 2);
    await vt.advance(20);
    expect(conn.of(FrameType.PLAY)).to.have.length(2); // window of 2 until the device grants more
    expect(conn.states()).to.include(AssistantState.SPEAKING);
    conn.send({ type: FrameType.CREDIT, stream: 1, seq: 0, upTo: 10, freeBytes: 1000, playedSamples: 0 });
    await vt.until('PLAY_END', () => conn.of(FrameType.PLAY_END).length === 1);
    expect(conn.of(FrameType.PLAY).map((f) => f.seq)).to.deep.equal([0, 1, 2, 3, 4]);
    expect(conn.of(FrameType.PLAY_END)[0]).to.include({
      reason: PlayEndReason.COMPLETE,
      lastSeq: 4,
      totalSamples: 620,
    });
    expect(conn.of(FrameType.PLAY)[0]?.samples[0]).to.equal(129);
    expect(reports()).to.have.length(0); // not before the device has played it all
    conn.send({ type: FrameType.CREDIT, stream: 1, seq: 0, upTo: 15, freeBytes: 4000, playedSamples: 620 });
    await vt.until('report', () => reports().length === 1);
    const r = reports()[0] as UtteranceReport;
    expect(r.outcome).to.equal('complete');
    expect(r.replySamples).to.equal(620);
    expect(conn.states()).to.deep.equal([
      AssistantState.IDLE,
      AssistantState.LISTENING,
      AssistantState.VERIFYING,
      AssistantState.THINKING,
      AssistantState.SPEAKING,
      AssistantState.IDLE,
    ]);
  });

  it('barge-in: a WAKE while speaking cancels playback, the voice reply and truncates to what was heard', async () => {
    const voice = new ScriptedVoice();
    const { conn, reports } = start(voice);
    conn.send(hello());
    speakUtterance(conn, 1);
    await vt.until('voice request', () => voice.requests.length === 1);
    (voice.replies[0] as Subject<VoiceEvent>).next({
      kind: 'audio',
      pcm: new Int16Array(124 * 8),
      sampleRate: 8000,
    });
    await vt.until('PLAY', () => conn.of(FrameType.PLAY).length === 2);
    conn.send({ type: FrameType.CREDIT, stream: 1, seq: 0, upTo: 4, freeBytes: 1000, playedSamples: 200 });
    await vt.until('more PLAY', () => conn.of(FrameType.PLAY).length === 4);
    speakUtterance(conn, 2, 150);
    await vt.until('PLAY_END CANCELLED', () => conn.of(FrameType.PLAY_END).length === 1);
    expect(conn.of(FrameType.PLAY_END)[0]).to.include({
      stream: 1,
      reason: PlayEndReason.CANCELLED,
      lastSeq: 3,
      totalSamples: 496,
    });
    expect(voice.cancelled).to.equal(1);
    await vt.until('truncate', () => voice.truncations.length === 1);
    expect(voice.truncations[0]).to.deep.equal(['dev', 25]); // 200 samples at 8 kHz
    expect(reports()[0]).to.include({ outcome: 'cancelled', stream: 1 });
    await vt.until('second request', () => voice.requests.length === 2);
    expect(conn.of(FrameType.GATE).map((g) => g.stream)).to.deep.equal([1, 2]);
  });

  it('a reply with more than 20 minutes of audio is refused as an error, and the service is let go', async () => {
    const voice = new ScriptedVoice();
    const { conn, reports } = start(voice);
    conn.send(hello());
    speakUtterance(conn, 1);
    await vt.until('voice request', () => voice.requests.length === 1);
    const reply = voice.replies[0] as Subject<VoiceEvent>;
    // 20 minutes at 1 kHz, then one more sample.
    reply.next({ kind: 'audio', pcm: new Int16Array(20 * 60 * 1000), sampleRate: 1000 });
    expect(reply.observed, 'still listening at the limit').to.equal(true);
    reply.next({ kind: 'audio', pcm: new Int16Array(1), sampleRate: 1000 });
    await vt.until('error report', () => reports().length === 1);
    expect(reports()[0]).to.include({ outcome: 'error' });
    expect(reports()[0]?.error).to.match(/reply audio longer than 20 minutes, refused/);
    expect(reply.observed, 'the service reply is unsubscribed').to.equal(false);
  });

  it('after WELCOME a frame longer than the negotiated payload is refused (TOO_LONG) and not used', async () => {
    const voice = new ScriptedVoice();
    const { conn } = start(voice);
    conn.send({ ...hello(), maxPayload: 64 });
    await vt.until('WELCOME', () => conn.of(FrameType.WELCOME).length === 1);
    expect(conn.of(FrameType.WELCOME)[0]?.payloadSize).to.equal(64);
    conn.send(wake(1));
    conn.send(audio(1, 1, 140, 61)); // 65 bytes
    await vt.until('ERROR', () => conn.of(FrameType.ERROR).length === 1);
    expect(conn.of(FrameType.ERROR)[0]).to.include({ code: ErrorCode.TOO_LONG, refType: FrameType.AUDIO });
    conn.send(audio(1, 1, 140, 60)); // 64 bytes: the same seq, now within the payload, is taken
    conn.send(end(1, 2, 60));
    await vt.until('voice request', () => voice.requests.length === 1);
    expect(voice.requests[0]?.audio).to.have.length(60);
  });

  it('past maxUtterancesPerMinute an utterance gets GATE REJECT and is not relayed; the budget refills', async () => {
    const voice = new ScriptedVoice();
    const { conn, reports } = start(voice, undefined, { maxUtterancesPerMinute: 2 });
    conn.send(hello());
    for (const stream of [1, 2, 3]) {
      speakUtterance(conn, stream);
      await vt.until(`GATE ${stream}`, () => conn.of(FrameType.GATE).length === stream);
    }
    expect(conn.of(FrameType.GATE).map((g) => g.verdict)).to.deep.equal([
      Verdict.ACCEPT,
      Verdict.ACCEPT,
      Verdict.REJECT,
    ]);
    expect(voice.requests).to.have.length(2);
    const refused = reports().find((r) => r.stream === 3);
    expect(refused).to.include({
      outcome: 'rejected',
      error: 'rate limited: more than 2 utterances a minute',
    });
    await vt.advance(30_000); // 2 a minute: one more after 30 s
    speakUtterance(conn, 4);
    await vt.until('voice request 3', () => voice.requests.length === 3);
  });

  it('utterance frames before HELLO on a connection are refused (BAD_STATE), not ACKed or relayed', async () => {
    const voice = new ScriptedVoice();
    const { conn, reports } = start(voice);
    speakUtterance(conn, 1); // no HELLO yet on this connection
    await vt.until('an ERROR for each frame', () => conn.of(FrameType.ERROR).length === 5);
    expect(conn.of(FrameType.ERROR).map((e) => [e.code, e.refType])).to.deep.equal([
      [ErrorCode.BAD_STATE, FrameType.WAKE],
      [ErrorCode.BAD_STATE, FrameType.AUDIO],
      [ErrorCode.BAD_STATE, FrameType.AUDIO],
      [ErrorCode.BAD_STATE, FrameType.AUDIO],
      [ErrorCode.BAD_STATE, FrameType.END],
    ]);
    expect(conn.of(FrameType.ACK), 'the device keeps its frames').to.have.length(0);
    conn.send(hello());
    speakUtterance(conn, 1); // the device re-sends once welcomed
    await vt.until('voice request', () => voice.requests.length === 1);
    expect(reports()).to.have.length(0);
  });

  it('a voice service error shows STATE ERROR, is logged, and the next utterance still works', async () => {
    const voice = new ScriptedVoice();
    const { conn, reports, logs } = start(voice);
    conn.send(hello());
    speakUtterance(conn, 1);
    await vt.until('voice request', () => voice.requests.length === 1);
    (voice.replies[0] as Subject<VoiceEvent>).error(new VoiceError('server', 'upstream exploded', 502));
    await vt.until('error report', () => reports().length === 1);
    expect(reports()[0]).to.include({ outcome: 'error' });
    expect(conn.states().at(-1)).to.equal(AssistantState.ERROR);
    expect(logs.some((l) => l.startsWith('error') && l.includes('server 502: upstream exploded'))).to.equal(
      true,
    );
    speakUtterance(conn, 2);
    await vt.until('second request', () => voice.requests.length === 2);
  });

  it('sends GATE REJECT when the wake verifier says no, and asks the service nothing', async () => {
    const voice = new ScriptedVoice();
    const { conn, reports } = start(voice, { verify: async () => ({ accept: false, score: 0.2 }) });
    conn.send(hello());
    speakUtterance(conn, 1);
    await vt.until('report', () => reports().length === 1);
    expect(conn.of(FrameType.GATE)[0]).to.include({ stream: 1, verdict: Verdict.REJECT });
    expect(reports()[0]?.outcome).to.equal('rejected');
    expect(voice.requests).to.have.length(0);
    expect(conn.states().at(-1)).to.equal(AssistantState.IDLE);
  });

  it('keeps an utterance across a reconnect of the same device session and completes it; a reboot drops it', async () => {
    const voice = new ScriptedVoice();
    const connections = new Subject<Connection>();
    const events: SessionEvent[] = [];
    sub = runSession(connections, {
      deviceId: 'dev',
      scheduler: vt.scheduler,
      now: vt.now,
      voice,
      keepAliveMs: 0,
      keepAliveTimeoutMs: 0,
    }).subscribe((e) => events.push(e));
    const first = new FakeConnection();
    connections.next(first);
    first.send(hello(77));
    first.send(wake(1));
    first.send(audio(1, 1, 140, 10));
    first.send(audio(1, 2, 141, 10));
    await vt.until('LISTENING', () => first.of(FrameType.STATE).length >= 2);
    first.closed$.next('remote');
    const second = new FakeConnection();
    connections.next(second);
    second.send(hello(77));
    // The host tells the device where to resume at once (cumulative 3) and listens again.
    await vt.until(
      'resync ACK',
      () => second.of(FrameType.ACK).length + second.of(FrameType.NACK).length >= 1,
    );
    expect([...second.of(FrameType.ACK), ...second.of(FrameType.NACK)][0]).to.include({
      stream: 1,
      cumulative: 3,
    });
    expect(second.states()[0]).to.equal(AssistantState.LISTENING);
    second.send(audio(1, 3, 142, 10));
    second.send(end(1, 4, 30));
    await vt.until('voice request after resume', () => voice.requests.length === 1);
    expect(voice.requests[0]?.audio.length).to.equal(30);
    expect(second.of(FrameType.GATE)[0]).to.include({ stream: 1, verdict: Verdict.ACCEPT });

    // A different nonce is a rebooted device: an unfinished utterance is dropped, not resumed.
    const reports = () =>
      events.filter((e) => e.kind === 'utterance').map((e) => (e as { report: UtteranceReport }).report);
    (voice.replies[0] as Subject<VoiceEvent>).complete();
    await vt.until('first report', () => reports().length === 1);
    second.send(wake(2));
    second.send(audio(2, 1, 140, 10));
    await vt.until('LISTENING 2', () => second.states().at(-1) === AssistantState.LISTENING);
    second.closed$.next('remote');
    const third = new FakeConnection();
    connections.next(third);
    third.send(hello(78));
    await vt.until('dropped report', () => reports().length === 2);
    expect(reports()[1]).to.include({ stream: 2, outcome: 'aborted', error: 'device restarted' });
    await vt.until('STATE after the reboot', () => third.states().length === 1);
    expect(third.states()).to.deep.equal([AssistantState.IDLE]);
  });

  it('drops a connection that sends no HELLO in time; a repeated HELLO only gets WELCOME again', async () => {
    const silent = new FakeConnection();
    sub = runSession(of(silent), {
      deviceId: 'dev',
      scheduler: vt.scheduler,
      now: vt.now,
      voice: new ScriptedVoice(),
      keepAliveMs: 0,
      helloTimeoutMs: 30,
    }).subscribe();
    await vt.until('disconnect without HELLO', () => silent.disconnected);
    expect(silent.disconnectedAs, 'the owner reconnects a dropped link').to.equal('dropped');
    sub.unsubscribe();

    const { conn } = start(new ScriptedVoice());
    conn.send(hello());
    await vt.until('STATE IDLE', () => conn.states().length === 1);
    conn.send(hello());
    await vt.until('second WELCOME', () => conn.of(FrameType.WELCOME).length === 2);
    await vt.advance(10);
    expect(conn.states()).to.deep.equal([AssistantState.IDLE]);
    expect(conn.disconnected).to.equal(false);
  });

  it('reads the HELLO at connect: WELCOME without a notified HELLO; its retry is not welcomed twice, a later one is', async () => {
    const conn = new ReadableFakeConnection(async () => bytes(hello(4321)));
    const events: SessionEvent[] = [];
    sub = runSession(of(conn), {
      deviceId: 'dev',
      scheduler: vt.scheduler,
      now: vt.now,
      voice: new ScriptedVoice(),
      keepAliveMs: 0,
      helloTimeoutMs: 50,
    }).subscribe((e) => events.push(e));
    await vt.until('WELCOME from the read HELLO', () => conn.of(FrameType.WELCOME).length === 1);
    expect(conn.reads).to.equal(1);
    expect(conn.of(FrameType.WELCOME)[0]).to.include({ nonce: 4321, payloadSize: 128 });
    expect(events.filter((e) => e.kind === 'hello')).to.have.length(1);
    await vt.advance(80); // past helloTimeoutMs: the read HELLO counts
    expect(conn.disconnected).to.equal(false);
    conn.send(hello(4321)); // the device's 1 s retry, sent before our WELCOME reached it
    await vt.advance(10);
    expect(conn.of(FrameType.WELCOME)).to.have.length(1);
    conn.send(hello(4321)); // still repeating: the WELCOME was lost, answer again
    await vt.until('WELCOME for a later retry', () => conn.of(FrameType.WELCOME).length === 2);
    expect(conn.states()).to.deep.equal([AssistantState.IDLE]);
    expect(events.filter((e) => e.kind === 'hello')).to.have.length(1);
  });

  it('an uplink read that fails, is not a frame or is not a HELLO is ignored: the notified HELLO is answered once', async () => {
    const values: Array<() => Promise<Uint8Array>> = [
      () => Promise.reject(new Error('read failed')),
      async () => Uint8Array.of(0xff, 0x00, 0x01),
      async () => bytes({ type: FrameType.PONG, stream: 0, seq: 0, token: 5 }),
    ];
    for (const value of values) {
      const conn = new ReadableFakeConnection(value);
      const logs: string[] = [];
      sub = runSession(of(conn), {
        deviceId: 'dev',
        scheduler: vt.scheduler,
        now: vt.now,
        voice: new ScriptedVoice(),
        keepAliveMs: 0,
        logger: { log: (level, msg) => logs.push(`${level} ${msg}`) },
      }).subscribe();
      await vt.advance(10);
      expect(conn.reads).to.equal(1);
      expect(conn.written, 'nothing answers a bad read').to.have.length(0);
      expect(logs.filter((l) => l.startsWith('debug') && /uplink read/.test(l))).to.have.length(1);
      conn.send(hello(9));
      await vt.until('WELCOME', () => conn.of(FrameType.WELCOME).length === 1);
      await vt.advance(10);
      expect(conn.of(FrameType.WELCOME)).to.have.length(1);
      sub.unsubscribe();
    }
  });

  it('after a reconnect the read HELLO resumes the utterance at once (ACK/NACK right after WELCOME)', async () => {
    const connections = new Subject<Connection>();
    sub = runSession(connections, {
      deviceId: 'dev',
      scheduler: vt.scheduler,
      now: vt.now,
      voice: new ScriptedVoice(),
      keepAliveMs: 0,
      keepAliveTimeoutMs: 0,
    }).subscribe();
    const first = new FakeConnection();
    connections.next(first);
    first.send(hello(77));
    first.send(wake(1));
    first.send(audio(1, 1, 140, 10));
    await vt.until('LISTENING', () => first.states().length >= 2);
    first.closed$.next('remote');
    const second = new ReadableFakeConnection(async () => bytes(hello(77)));
    connections.next(second);
    // No notified HELLO at all: the read one is enough to resume.
    await vt.until('resync', () => second.of(FrameType.ACK).length + second.of(FrameType.NACK).length >= 1);
    expect(second.written[0]?.type).to.equal(FrameType.WELCOME);
    expect([...second.of(FrameType.ACK), ...second.of(FrameType.NACK)][0]).to.include({
      stream: 1,
      cumulative: 2,
    });
    expect(second.states()[0]).to.equal(AssistantState.LISTENING);
  });

  it('answers an unsupported protocol major with ERROR and disconnects', async () => {
    const { conn } = start(new ScriptedVoice());
    conn.send(hello(1, 2));
    await vt.until('disconnect after ERROR', () => conn.disconnected);
    expect(conn.of(FrameType.ERROR)[0]).to.include({
      code: ErrorCode.UNSUPPORTED_VERSION,
      refType: FrameType.HELLO,
    });
    expect(conn.of(FrameType.WELCOME)).to.have.length(0);
  });

  it('answers undecodable bytes with ERROR (never relays them, keeps the link), but never an ERROR with ERROR', async () => {
    const { conn, logs } = start(new ScriptedVoice());
    conn.send(hello());
    conn.frames$.next(new Uint8Array([0x04, 1]));
    await vt.until('ERROR', () => conn.of(FrameType.ERROR).length === 1);
    expect(conn.of(FrameType.ERROR)[0]).to.include({
      code: ErrorCode.TRUNCATED,
      fault: 1,
      refType: FrameType.AUDIO,
    });
    expect(logs.some((l) => l.startsWith('warn dropped a bad frame'))).to.equal(true);
    conn.frames$.next(new Uint8Array([0x11, 0, 0]));
    await vt.advance(20);
    expect(conn.of(FrameType.ERROR)).to.have.length(1);
    expect(conn.disconnected).to.equal(false);
  });
});

/**
 * The scripted earbud (test/support/scripted-earbud.ts) on a fake connection, over a lossy air: what
 * the host writes reaches the earbud only when polled, and what loseUntil() skips never does.
 */
class OverTheAir {
  readonly earbud: ScriptedEarbud;
  private read = 0;
  constructor(private readonly conn: FakeConnection) {
    this.earbud = new ScriptedEarbud((f) => conn.send(f), { maxPayload: 128 });
  }
  get active(): boolean {
    return this.earbud.active;
  }
  wake(): boolean {
    this.poll();
    return this.earbud.wake();
  }
  /** The next AUDIO frame (10 samples of `fill`); `lost`: dropped on air; `evicted`: also from the ring. */
  audio(fill: number, how: { lost?: boolean; evicted?: boolean } = {}): void {
    this.earbud.audio(new Uint8Array(10).fill(fill), how);
  }
  end(reason?: EndReasonCode): EndFrame {
    return this.earbud.end(reason);
  }
  rto(): void {
    this.earbud.rto();
  }
  /** What the host wrote before index `i` of its writes, not yet applied, is lost on air. */
  loseUntil(i: number): void {
    if (i > this.read) this.read = i;
  }
  /** Apply what the host wrote since the last call. */
  poll(): void {
    const written = this.conn.written;
    for (; this.read < written.length; this.read++) this.earbud.hear(written[this.read] as Frame);
  }
}

describe('pipeline/session: the host lets go of utterance streams (scripted device)', () => {
  let sub: Subscription | undefined;
  let vt: VirtualTime;
  beforeEach(() => {
    vt = new VirtualTime();
  });
  afterEach(() => sub?.unsubscribe());
  const NACK_MS = 5;

  function start(voice: VoiceService, extra?: Partial<SessionOptions>) {
    const conn = new FakeConnection();
    const device = new OverTheAir(conn);
    const run = runScripted(vt, conn, { voice, nackIntervalMs: NACK_MS, ...extra });
    sub = run.sub;
    const reports = run.reports;
    /** ACK/NACK frames the host wrote for `stream`, from index `from` of everything it wrote. */
    const acksFor = (stream: number, from = 0) =>
      conn.written
        .slice(from)
        .filter(
          (f): f is AckFrame =>
            (f.type === FrameType.ACK || f.type === FrameType.NACK) && f.stream === stream,
        );
    return { conn, device, reports, acksFor };
  }

  /** The device speaks a whole utterance on a new stream (it must accept the wake). */
  function speak(device: OverTheAir, frames = 3): void {
    expect(device.wake(), 'device accepts a new wake').to.equal(true);
    for (let i = 0; i < frames; i++) device.audio(140);
    device.end();
  }

  it('an utterance longer than maxUtteranceMs: GATE CANCEL, reported aborted, never relayed, the next wake works', async () => {
    const voice = new ScriptedVoice();
    // 8 kHz u8 (the scripted HELLO): 5 ms is 40 bytes; each frame carries 10.
    const { conn, device, reports, acksFor } = start(voice, { maxUtteranceMs: 5 });
    conn.send(hello());
    expect(device.wake()).to.equal(true);
    for (let i = 0; i < 5; i++) device.audio(140);
    await vt.until('GATE CANCEL', () => conn.of(FrameType.GATE).length === 1);
    expect(conn.of(FrameType.GATE)[0]).to.include({ stream: 1, verdict: Verdict.CANCEL });
    await vt.until('report', () => reports().length === 1);
    expect(reports()[0]).to.include({ stream: 1, outcome: 'aborted' });
    expect(reports()[0]?.error).to.match(/longer than the 0.005 s utterance limit/);
    expect(voice.requests).to.have.length(0);
    // The device hears the GATE and ends the stream (END CANCELLED, seq 6); the ACK past it frees it.
    device.poll();
    await vt.until('ACK past END', () => acksFor(1).some((a) => a.cumulative === 7));
    device.poll();
    speak(device, 2);
    await vt.until('voice request for stream 2', () => voice.requests.length === 1);
  });

  it('timeout before END: GATE CANCEL, one ACK past what arrived, none repeated; the END sent in answer (and its re-sends) get END + 1; the next wake works', async () => {
    const voice = new ScriptedVoice();
    const { conn, device, reports, acksFor } = start(voice, { timeouts: { utterance: 60 } });
    conn.send(hello());
    expect(device.wake()).to.equal(true);
    device.audio(140);
    device.audio(141, { lost: true }); // the host NACKs seq 2 ...
    device.audio(142); // ... but the NACKs never reach the device: no new frame, the host times out
    await vt.until('GATE CANCEL', () => conn.of(FrameType.GATE).length === 1);
    expect(conn.of(FrameType.GATE)[0]).to.include({ stream: 1, verdict: Verdict.CANCEL });
    const gateAt = conn.written.findIndex((f) => f.type === FrameType.GATE);
    await vt.until('the final ACK', () => acksFor(1, gateAt).length >= 1);
    await vt.advance(NACK_MS * 10);
    // Exactly one ACK after letting go, past every frame received (3): nothing repeats the old position.
    expect(acksFor(1, gateAt).map((a) => [a.type, a.cumulative, a.gaps.length])).to.deep.equal([
      [FrameType.ACK, 4, 0],
    ]);
    expect(reports()[0]).to.include({ stream: 1, outcome: 'aborted', error: 'timeout in utterance' });

    // The device hears the GATE and the final ACK (the NACKs were lost): END CANCELLED at seq 4.
    device.loseUntil(gateAt);
    device.poll();
    expect(device.active).to.equal(true); // END not acknowledged yet
    await vt.until('ACK past END', () => acksFor(1).some((a) => a.cumulative === 5));
    device.loseUntil(conn.written.length); // that ACK is lost: the device's RTO re-sends END
    device.rto();
    await vt.until('ACK past END again', () => acksFor(1).filter((a) => a.cumulative === 5).length === 2);
    expect(
      acksFor(1)
        .slice(-2)
        .map((a) => [a.type, a.cumulative, a.gaps.length]),
    ).to.deep.equal([
      [FrameType.ACK, 5, 0],
      [FrameType.ACK, 5, 0],
    ]);
    device.poll();
    expect(device.active, 'END acknowledged: the device is free').to.equal(false);
    expect(voice.requests).to.have.length(0); // an abandoned stream is never relayed

    // A new wake right after is accepted by the device and served by the host.
    speak(device);
    await vt.until('voice request for stream 2', () => voice.requests.length === 1);
    expect(conn.of(FrameType.GATE).at(-1)).to.include({ stream: 2, verdict: Verdict.ACCEPT });
    expect(acksFor(2).at(-1)).to.include({ cumulative: 5 });
  });
  /** Wait a few NACK periods, then: the ACK/NACK frames written for `stream` since index `from`. */
  async function quietAfter(
    acksFor: (stream: number, from?: number) => AckFrame[],
    stream: number,
    from: number,
  ) {
    await vt.advance(NACK_MS * 10);
    return acksFor(stream, from).map((a) => [a.type, a.cumulative, a.gaps.length]);
  }

  it('GATE REJECT: the stream was ACKed past END once, nothing repeats after the GATE, a late END gets END + 1; the next wake works', async () => {
    const voice = new ScriptedVoice();
    let verdicts = 0;
    const verifier: WakeVerifier = { verify: async () => ({ accept: verdicts++ > 0, score: 0.2 }) };
    const { conn, device, reports, acksFor } = start(voice, { verifier });
    conn.send(hello());
    speak(device); // WAKE 0, AUDIO 1..3, END 4
    await vt.until('GATE REJECT', () => conn.of(FrameType.GATE).length === 1);
    expect(conn.of(FrameType.GATE)[0]).to.include({ stream: 1, verdict: Verdict.REJECT });
    const gateAt = conn.written.findIndex((f) => f.type === FrameType.GATE);
    expect(acksFor(1).at(-1)).to.include({ type: FrameType.ACK, cumulative: 5 });
    expect(await quietAfter(acksFor, 1, gateAt)).to.deep.equal([]);
    expect(reports()[0]).to.include({ stream: 1, outcome: 'rejected' });
    device.loseUntil(conn.written.length); // the device missed the ACK: its RTO re-sends END
    device.rto();
    await vt.until('ACK for the late END', () => acksFor(1, gateAt).length === 1);
    expect(acksFor(1, gateAt)[0]).to.include({ type: FrameType.ACK, cumulative: 5 });
    device.poll();
    expect(device.active).to.equal(false);
    speak(device);
    await vt.until('voice request for stream 2', () => voice.requests.length === 1);
    expect(conn.of(FrameType.GATE).at(-1)).to.include({ stream: 2, verdict: Verdict.ACCEPT });
  });

  it('barge-in cancels the voice turn: stream 1 stays acknowledged past END with no repeats, the barge-in stream is served', async () => {
    const voice = new ScriptedVoice();
    const { conn, device, reports, acksFor } = start(voice);
    conn.send(hello());
    speak(device);
    await vt.until('voice request', () => voice.requests.length === 1);
    device.poll();
    expect(device.active).to.equal(false);
    (voice.replies[0] as Subject<VoiceEvent>).next({
      kind: 'audio',
      pcm: new Int16Array(124 * 8),
      sampleRate: 8000,
    });
    await vt.until('PLAY', () => conn.of(FrameType.PLAY).length === 2);
    const before = conn.written.length;
    speak(device); // barge-in on stream 2
    await vt.until('PLAY_END CANCELLED', () => conn.of(FrameType.PLAY_END).length === 1);
    await vt.until('voice request for the barge-in', () => voice.requests.length === 2);
    expect(reports()[0]).to.include({ stream: 1, outcome: 'cancelled' });
    expect(await quietAfter(acksFor, 1, before)).to.deep.equal([]);
    expect(acksFor(2).at(-1)).to.include({ type: FrameType.ACK, cumulative: 5 });
    device.poll();
    expect(device.active).to.equal(false);
  });

  it('completion with frames lost for good: ACK past END once (the lost seq is not NACKed again), reported as an error and not relayed; the next wake works', async () => {
    const voice = new ScriptedVoice();
    const { conn, device, reports, acksFor } = start(voice);
    conn.send({ ...hello(), ringFrames: 16 }); // host window 16
    expect(device.wake()).to.equal(true);
    device.audio(140);
    device.audio(141, { evicted: true }); // seq 2: the device's ring overflowed, gone for good
    for (let i = 0; i < 17; i++) device.audio(142); // seq 18 = 2 + 16 proves seq 2 is gone
    const endFrame = device.end(); // seq 20
    expect(endFrame.seq).to.equal(20);
    await vt.until('report', () => reports().length === 1);
    expect(reports()[0]).to.include({
      stream: 1,
      lost: 1,
      outcome: 'error',
      error: '1 frame(s) of audio lost for good (the earbud no longer held them)',
    });
    expect(voice.requests, 'a question cut short is not asked').to.have.length(0);
    expect(conn.of(FrameType.GATE).at(-1)).to.include({ stream: 1, verdict: Verdict.REJECT });
    expect(conn.states().at(-1)).to.equal(AssistantState.ERROR);
    const done = conn.written.length;
    const final = acksFor(1).at(-1);
    expect(final).to.include({ type: FrameType.ACK, cumulative: 21 });
    expect(final?.gaps).to.deep.equal([]);
    expect(await quietAfter(acksFor, 1, done)).to.deep.equal([]);
    device.poll();
    expect(device.active).to.equal(false);
    speak(device);
    await vt.until('voice request for stream 2', () => voice.requests.length === 1);
  });

  it('an utterance the earbud ended with END reason ERROR (its ring overran) is an error, not relayed', async () => {
    const voice = new ScriptedVoice();
    const { conn, device, reports } = start(voice);
    conn.send(hello());
    expect(device.wake()).to.equal(true);
    device.audio(140);
    device.end(EndReason.ERROR);
    await vt.until('report', () => reports().length === 1);
    expect(reports()[0]).to.include({ stream: 1, outcome: 'error' });
    expect(reports()[0]?.error).to.match(/END reason ERROR/);
    expect(voice.requests).to.have.length(0);
    expect(conn.states().at(-1)).to.equal(AssistantState.ERROR);
  });

  it('a rebooted device (new nonce) starting over at stream 1 is heard, not re-ACKed as a late duplicate', async () => {
    const voice = new ScriptedVoice();
    const connections = new Subject<Connection>();
    sub = runSession(connections, {
      deviceId: 'dev',
      scheduler: vt.scheduler,
      now: vt.now,
      voice,
      keepAliveMs: 0,
      keepAliveTimeoutMs: 0,
    }).subscribe();
    const first = new FakeConnection();
    connections.next(first);
    first.send(hello(10));
    speak(new OverTheAir(first));
    await vt.until('voice request', () => voice.requests.length === 1);
    (voice.replies[0] as Subject<VoiceEvent>).complete();
    first.closed$.next('remote');
    const second = new FakeConnection();
    connections.next(second);
    second.send(hello(11));
    await vt.until('WELCOME', () => second.of(FrameType.WELCOME).length === 1);
    const device = new OverTheAir(second); // counts streams from 1 again
    speak(device);
    await vt.until('voice request after the reboot', () => voice.requests.length === 2);
    expect(second.of(FrameType.GATE)[0]).to.include({ stream: 1, verdict: Verdict.ACCEPT });
  });
});
