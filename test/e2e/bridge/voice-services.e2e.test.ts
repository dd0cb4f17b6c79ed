/**
 * The bridge with the real voice adapters against the local fake OpenAI servers
 * (test/support/fake-services/), through a simulated earbud running the real firmware:
 * - barge-in by tap with the Realtime adapter: the speaker stops at once, the server gets
 *   response.cancel (the response is still streaming) and conversation.item.truncate with
 *   audio_end_ms = what the earbud actually played, and the conversation goes on;
 * - a REST service answering 500 once: the earbud is told STATE ERROR, the bridge keeps running and
 *   the next utterance is answered.
 */
import { expect } from 'chai';
import { AssistantState, FrameType, PlayEndReason, Trigger, type Frame } from '@budlink/protocol';
import type { BridgeEvent } from '../../../host/src/bridge/index';
import type { UtteranceReport } from '../../../host/src/pipeline/types';
import { createVoiceService, voiceConfigFromEnv, type VoiceService } from '../../../host/src/voice/index';
import { FakeRealtimeServer, FakeOpenAiRest } from '@budlink/test-support/fake-services';
import { startRig, type Rig } from '@budlink/test-support/rigs/bridge';
import { sleep, until } from '@budlink/test-support/wait';

const KEY = 'sk-e2e-bridge-0123456789abcdef';

function framesOf<T extends Frame['type']>(list: { frame: Frame }[], type: T): Extract<Frame, { type: T }>[] {
  return list.map((s) => s.frame).filter((f): f is Extract<Frame, { type: T }> => f.type === type);
}

describe('e2e: bridge with the OpenAI adapters against fake servers', function () {
  this.timeout(60000);
  let rig: Rig | undefined;
  let service: VoiceService | undefined;
  let realtime: FakeRealtimeServer | undefined;
  let rest: FakeOpenAiRest | undefined;

  afterEach(async () => {
    await rig?.close();
    await service?.close();
    await realtime?.stop();
    await rest?.stop();
    rig = undefined;
    service = undefined;
    realtime = undefined;
    rest = undefined;
  });

  it('Realtime: a tap while the reply plays stops the speaker, cancels and truncates to what was played', async () => {
    // A 4 s reply streamed at 10× real time (≥ 0.4 s): still in flight when the earbud (device
    // clock ×4) has played a quarter second of it (~60 ms real).
    realtime = await new FakeRealtimeServer({
      generation: 'ga',
      apiKey: KEY,
      chunks: 40,
      chunkMs: 100,
      chunkDelayMs: 10,
    }).start();
    service = createVoiceService(
      voiceConfigFromEnv({
        BUDLINK_VOICE: 'realtime',
        OPENAI_BASE_URL: realtime.baseUrl,
        OPENAI_API_KEY: KEY,
      }),
    );
    rig = await startRig({ service, transport: 'auto' });
    const r = rig;
    const earbud = r.env.earbuds[0];
    if (!earbud) throw new Error('no earbud');
    /** The earbud's speaker buffer (samples) and rate. */
    const BUFFER = earbud.board.playbackBufferSamples;
    const RATE = earbud.board.sampleRate;
    // Speaker length whenever a reply starts (the bridge's first PLAY of it has not reached the
    // earbud yet when the phase changes).
    const atReplyStart: number[] = [];
    let overrunsAtStart: number | undefined;
    const sub = r.bridge.events$.subscribe((e: BridgeEvent) => {
      if (e.kind === 'phase' && e.change.to === 'speaking') {
        atReplyStart.push(earbud.speakerSamples().length);
        overrunsAtStart ??= earbud.stats().overruns;
      }
    });
    try {
      const cutReport = r.nextReports(1, 30000);
      r.speak();
      await until('the reply to play', () => atReplyStart.length === 1);
      // Tap once the speaker has played a few buffers of it (~0.25 s of a 4 s reply).
      await until(
        'the reply on the speaker',
        () => earbud.speakerSamples().length - (atReplyStart[0] as number) >= RATE / 4,
      );
      realtime.options = { ...realtime.options, chunks: 5 }; // later replies: 0.5 s
      const atPress = earbud.speakerSamples().length;
      earbud.pressButton(80);
      const [cut] = await cutReport;
      const atCut = earbud.speakerSamples().length;
      const overrunsInReply = earbud.stats().overruns - (overrunsAtStart as number);
      expect(cut?.outcome).to.equal('cancelled');

      // The earbud stopped at the tap (release after 80 ms + 25 ms debounce), within one buffer
      // and the sim's clock step.
      expect(atCut - atPress).to.be.at.most(((80 + 25) * RATE) / 1000 + BUFFER + 256);
      const playStream = framesOf(r.written, FrameType.PLAY)[0]?.stream;
      expect(playStream).to.be.a('number');
      await until('PLAY_END CANCELLED written', () =>
        framesOf(r.written, FrameType.PLAY_END).some(
          (f) => f.stream === playStream && f.reason === PlayEndReason.CANCELLED,
        ),
      );

      // The server: response.cancel (still streaming), then the truncate of the assistant item.
      await until('the truncate', () => realtime?.types().includes('conversation.item.truncate') === true);
      const types = realtime.types();
      expect(types).to.include('response.cancel');
      expect(types.indexOf('response.cancel')).to.be.lessThan(types.indexOf('conversation.item.truncate'));
      const truncate = realtime.received.find((e) => e.type === 'conversation.item.truncate');
      expect(truncate?.item_id).to.equal(realtime.assistantItems[0]);
      const audioEndMs = truncate?.audio_end_ms as number;
      // What the earbud reported playing (CREDIT.playedSamples counts finished buffers) …
      const played = Math.max(
        ...framesOf(r.uplink, FrameType.CREDIT)
          .filter((f) => f.stream === playStream)
          .map((f) => f.playedSamples),
      );
      expect(played).to.be.greaterThan(0);
      expect(Math.abs(audioEndMs - (played * 1000) / RATE)).to.be.at.most((BUFFER * 1000) / RATE);
      // … and what came out of its speaker for that reply: never less; more by the buffer cut short
      // and up to two whose end the firmware had not yet counted (their 'buffer' events still queued
      // behind the tap). A host too busy to run the simulated device in time loses buffer events (overruns, as
      // a late Espruino would): then the earbud's own count is behind its speaker by those.
      const onSpeaker = atCut - (atReplyStart[0] as number);
      const why = JSON.stringify({ onSpeaker, audioEndMs, played, overrunsInReply, atPress, atCut });
      expect(onSpeaker, why).to.be.at.least((audioEndMs * RATE) / 1000 - 8);
      if (overrunsInReply === 0)
        expect(onSpeaker - (audioEndMs * RATE) / 1000, why).to.be.at.most(3 * BUFFER + 8);
      expect(audioEndMs).to.be.lessThan(4000);
      expect(realtime.violations).to.deep.equal([]);

      // The tap opened a new utterance: it is answered on the same conversation. Until that reply
      // starts, the speaker stays silent: nothing of the cut reply plays after the tap.
      const [tapTurn] = await r.nextReports(1, 30000);
      expect(tapTurn?.trigger).to.equal(Trigger.TAP);
      expect(tapTurn?.outcome, tapTurn?.error).to.equal('complete');
      expect(atReplyStart[1]).to.equal(atCut);
      // And a spoken utterance after that works too.
      earbud.clearAudio();
      await sleep(300);
      const next = r.nextReports(1, 30000);
      r.speak();
      const [spoken] = await next;
      expect(spoken?.outcome, spoken?.error).to.equal('complete');
      expect(spoken?.replySamples).to.be.greaterThan(0);
      expect(realtime.violations).to.deep.equal([]);
      expect(realtime.connections).to.equal(1); // one session, reused
    } finally {
      sub.unsubscribe();
    }
  });

  it('REST: a 500 from the service tells the earbud STATE ERROR; the bridge goes on and answers the next', async () => {
    rest = await new FakeOpenAiRest({ apiKey: KEY, transcript: 'What time is it?' }).start();
    rest.fail('transcriptions', { kind: 'status', status: 500 });
    // No retries, so the 500 reaches the bridge (retries are the adapter's own tests).
    service = createVoiceService(
      voiceConfigFromEnv({
        BUDLINK_VOICE: 'rest',
        OPENAI_BASE_URL: rest.baseUrl,
        OPENAI_API_KEY: KEY,
        BUDLINK_MAX_RETRIES: '0',
      }),
    );
    rig = await startRig({ service, transport: 'auto' });
    const r = rig;
    const earbud = r.env.earbuds[0];
    if (!earbud) throw new Error('no earbud');
    const first = r.nextReports(1, 30000);
    r.speak();
    const [failed] = await first;
    expect(failed?.outcome).to.equal('error');
    expect(failed?.error).to.match(/500|server/);
    // The earbud was told: STATE ERROR, and no reply audio.
    await until('STATE ERROR written', () =>
      framesOf(r.written, FrameType.STATE).some((f) => f.state === AssistantState.ERROR),
    );
    expect(framesOf(r.written, FrameType.PLAY)).to.have.length(0);
    expect(r.bridge.status()[0]).to.deep.include({ connected: true, connections: 1 });

    earbud.clearAudio();
    await sleep(300);
    const speakerBefore = earbud.speakerSamples().length;
    const next = r.nextReports(1, 30000);
    r.speak();
    const [answered] = await next;
    expect(answered?.outcome, answered?.error).to.equal('complete');
    expect((answered as UtteranceReport).transcript.user).to.equal('What time is it?');
    expect(framesOf(r.written, FrameType.PLAY).length).to.be.greaterThan(0);
    await until('the reply on the speaker', () => earbud.speakerSamples().length > speakerBefore);
    // Same connection throughout: the error did not cost the link.
    expect(r.bridge.status()[0]?.connections).to.equal(1);
    expect(rest.violations).to.deep.equal([]);
  });
});
