/**
 * The reply controller on virtual time: a reply paced by CREDIT to its end, a barge-in cut with
 * truncation to what was heard, a voice error, a stalled device, and the stage timings it stamps.
 */
import { expect } from 'chai';
import { Subject, type Subscription } from 'rxjs';
import {
  Codec,
  EndReason,
  FrameType,
  PlayEndReason,
  Trigger,
  type AckFrame,
  type CreditFrame,
  type Frame,
  type PlayEndFrame,
  type PlayFrame,
} from '@budlink/protocol';
import { ReplyController, type ReplyFormat } from '../../../host/src/pipeline/reply-controller';
import { ReportTracker } from '../../../host/src/pipeline/report-tracker';
import type { SessionInput } from '../../../host/src/pipeline/session-state';
import type { Utterance, UtteranceReport } from '../../../host/src/pipeline/types';
import { VoiceError, type VoiceEvent } from '../../../host/src/voice/types';
import { VirtualTime } from '@budlink/test-support/virtual-time';
import { ScriptedVoice } from './session-doubles';

const FORMAT: ReplyFormat = { codec: Codec.PCM_U8, sampleRate: 8000, payloadSize: 128 }; // 124 samples per PLAY

const utterance: Utterance = {
  deviceId: 'dev',
  stream: 1,
  wake: { trigger: Trigger.TAP, score: 255, preRollMs: 0, wakeStart: 0, wakeEnd: 0 },
  codec: Codec.PCM_U8,
  sampleRate: 8000,
  samples: new Uint8Array(40).fill(140),
  endReason: EndReason.SILENCE,
  recovered: 0,
  lost: 0,
  wakeAt: 0,
  completedAt: 0,
};

const credit = (upTo: number, playedSamples: number, stream = 1): CreditFrame => ({
  type: FrameType.CREDIT,
  stream,
  seq: 0,
  upTo,
  freeBytes: 4000,
  playedSamples,
});

describe('pipeline/reply-controller', () => {
  let vt: VirtualTime;
  let voice: ScriptedVoice;
  let sent: Frame[];
  let inputs: SessionInput['kind'][];
  let finished: UtteranceReport[];
  let reports: ReportTracker;
  let feedback$: Subject<CreditFrame | AckFrame>;
  let replies: ReplyController;
  let logs: string[];
  const subs: Subscription[] = [];

  beforeEach(() => {
    vt = new VirtualTime();
    voice = new ScriptedVoice();
    sent = [];
    inputs = [];
    finished = [];
    logs = [];
    feedback$ = new Subject();
    reports = new ReportTracker({ deviceId: 'dev', now: vt.now, finished: (r) => finished.push(r) });
    replies = new ReplyController({
      deviceId: 'dev',
      voice,
      reports,
      send: (f) => sent.push(f),
      input: (i) => inputs.push(i.kind),
      feedback$,
      deviceRate: () => 8000,
      playInitialWindow: 2,
      playStallMs: 1000,
      playDrainMarginMs: 500,
      playCreditProbeMs: 400,
      playNackHoldMs: 100,
      scheduler: vt.scheduler,
      now: vt.now,
      hooks: {},
      log: (level, message) => logs.push(`${level} ${message}`),
    });
  });
  afterEach(() => subs.splice(0).forEach((s) => s.unsubscribe()));

  const plays = (): PlayFrame[] => sent.filter((f): f is PlayFrame => f.type === FrameType.PLAY);
  const playEnds = (): PlayEndFrame[] => sent.filter((f): f is PlayEndFrame => f.type === FrameType.PLAY_END);
  const reply = (i = 0): Subject<VoiceEvent> => voice.replies[i] as Subject<VoiceEvent>;
  const start = (at = 0): UtteranceReport => {
    const report = reports.open(1, Trigger.TAP, at);
    reports.release(report);
    replies.start(utterance, report, FORMAT);
    return report;
  };

  it('asks the voice service, plays the reply within the credit window, and finishes once the device played it all', async () => {
    const report = start();
    expect(replies.active).to.equal(true);
    expect(voice.requests).to.have.length(1);
    expect(Array.from(voice.requests[0]?.audio ?? [])).to.deep.equal(new Array(40).fill(12 << 8));
    await vt.advance(100);
    reply().next({ kind: 'transcript', role: 'user', text: 'hi', final: true });
    reply().next({ kind: 'audio', pcm: new Int16Array(124 * 3).fill(256), sampleRate: 8000 });
    reply().complete();
    expect(plays().map((p) => p.seq)).to.deep.equal([0, 1]); // the initial window
    expect(inputs).to.deep.equal(['reply-audio']);
    await vt.advance(50);
    feedback$.next(credit(8, 124));
    expect(plays().map((p) => p.seq)).to.deep.equal([0, 1, 2]);
    expect(playEnds()[0]).to.include({ reason: PlayEndReason.COMPLETE, lastSeq: 2, totalSamples: 372 });
    expect(finished).to.have.length(0);
    await vt.advance(50);
    feedback$.next(credit(8, 372));
    expect(finished).to.deep.equal([report]);
    expect(report).to.include({ outcome: 'complete', replySamples: 372 });
    expect(report.transcript).to.deep.equal({ user: 'hi' });
    expect(report.timings).to.include({
      serviceRequest: 0,
      firstReplyAudio: 100,
      firstPlay: 100,
      playbackEnd: 200,
    });
    expect(inputs).to.deep.equal(['reply-audio', 'activity', 'activity', 'reply-done']);
    expect(replies.active).to.equal(false);
  });

  it('a barge-in cuts the reply: PLAY_END CANCELLED, the voice turn cancelled, truncated to what the device played', async () => {
    const first = start();
    reply().next({ kind: 'audio', pcm: new Int16Array(124 * 8), sampleRate: 8000 });
    feedback$.next(credit(4, 100));
    replies.devicePlayEnd({
      type: FrameType.PLAY_END,
      stream: 1,
      seq: 3,
      reason: PlayEndReason.CANCELLED,
      lastSeq: 2,
      totalSamples: 200,
    });
    start(); // the next utterance's reply ends this one first
    expect(playEnds()[0]).to.include({
      stream: 1,
      reason: PlayEndReason.CANCELLED,
      lastSeq: 3,
      totalSamples: 496,
    });
    expect(voice.cancelled).to.equal(1);
    await vt.settle();
    expect(voice.truncations).to.deep.equal([['dev', 25]]); // 200 samples at 8 kHz
    expect(first.outcome).to.equal('cancelled');
    expect(logs).to.include('info barge-in: playback cut after 25 ms heard');
    expect(voice.requests).to.have.length(2);
    reply(1).next({ kind: 'audio', pcm: new Int16Array(124), sampleRate: 8000 });
    expect(plays().at(-1)).to.include({ stream: 2, seq: 0 }); // a new PLAY stream
  });

  it('a voice error ends the reply with an error report and tells the state machine', () => {
    const report = start();
    reply().error(new VoiceError('server', 'upstream exploded', 502));
    expect(report).to.include({ outcome: 'error', error: 'server 502: upstream exploded' });
    expect(inputs).to.deep.equal(['error']);
    expect(logs).to.include('error voice reply failed (scripted): server 502: upstream exploded');
    expect(sent).to.deep.equal([]); // nothing was playing: no PLAY_END
  });

  it('a device that stops granting credit stalls the reply after playStallMs', async () => {
    const report = start();
    reply().next({ kind: 'audio', pcm: new Int16Array(124 * 4), sampleRate: 8000 });
    await vt.advance(999);
    expect(finished).to.have.length(0);
    await vt.advance(1);
    expect(report.outcome).to.equal('error');
    expect(playEnds()[0]).to.include({ reason: PlayEndReason.ERROR });
  });

  it('aborting ends the reply without truncation; without a device format nothing starts', async () => {
    const report = start();
    reply().next({ kind: 'audio', pcm: new Int16Array(124), sampleRate: 8000 });
    replies.end('aborted', 'link lost');
    replies.end('aborted', 'again'); // once
    expect(report).to.include({ outcome: 'aborted', error: 'link lost' });
    await vt.settle();
    expect(voice.truncations).to.deep.equal([]);
    const other = reports.open(2, undefined, 0);
    replies.start(utterance, other, undefined);
    expect(replies.active).to.equal(false);
    expect(voice.requests).to.have.length(1);
  });
});
