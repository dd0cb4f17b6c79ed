/** The host's utterance-stream receiver, timer-free (the bridge's operator and SimHost both run it). */
import { expect } from 'chai';
import { EndReason, FrameType, type AckFrame } from '@budlink/protocol';
import { UtteranceReceiver, type ReceiverOutput } from '@budlink/protocol/receiver';
import { tapWakeFrame } from '@budlink/test-support/scripted-earbud';

const wake = tapWakeFrame(1);
const audio = (seq: number, fill: number) =>
  ({ type: FrameType.AUDIO, stream: 1, seq, samples: new Uint8Array(4).fill(fill) }) as const;
const end = (seq: number) =>
  ({
    type: FrameType.END,
    stream: 1,
    seq,
    reason: EndReason.SILENCE,
    lastSeq: seq - 1,
    totalSamples: 8,
  }) as const;

describe('protocol/receiver', () => {
  function receiver(): {
    r: UtteranceReceiver;
    out: ReceiverOutput[];
    acks: () => [number, number, number][];
  } {
    const out: ReceiverOutput[] = [];
    const r = new UtteranceReceiver({ payloadSize: () => 20, window: () => 16, ackEveryFrames: 8 }, (o) =>
      out.push(o),
    );
    const acks = () =>
      out
        .filter((o): o is { kind: 'send'; frame: AckFrame } => o.kind === 'send')
        .map((o) => [o.frame.type, o.frame.cumulative, o.frame.gaps.length] as [number, number, number]);
    return { r, out, acks };
  }

  it('NACKs a hole at once, repeats it on a tick without news, completes with one final ACK', () => {
    const { r, out, acks } = receiver();
    r.frame(wake, 0);
    r.frame(audio(2, 2), 1); // seq 1 lost
    expect(acks()).to.deep.equal([[FrameType.NACK, 1, 1]]);
    expect(r.tick(), 'a frame arrived since: no repeat').to.equal(true);
    expect(r.tick(), 'nothing new: the NACK again').to.equal(true);
    expect(acks()).to.have.length(2);
    expect(r.current()?.samples).to.have.length(0);
    r.frame(audio(2, 2), 2); // the same frame again
    expect(r.current()?.duplicates, 'an open stream counts its duplicates').to.equal(1);
    r.frame(audio(1, 1), 10);
    r.frame(end(3), 11);
    const done = out.find((o) => o.kind === 'complete');
    expect(done?.kind === 'complete' && Array.from(done.utterance.samples)).to.deep.equal([
      1, 1, 1, 1, 2, 2, 2, 2,
    ]);
    expect(done?.kind === 'complete' && done.utterance.recovered).to.equal(1);
    expect(acks().at(-1)).to.deep.equal([FrameType.ACK, 4, 0]);
    expect(r.receiving).to.equal(false);
    expect(r.tick(), 'nothing to repeat for an ended stream').to.equal(false);
    r.frame(end(3), 20); // a late re-send of END
    expect(acks().at(-1)).to.deep.equal([FrameType.ACK, 4, 0]);
  });
});
