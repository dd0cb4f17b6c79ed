/** Shared helpers for the pipeline marble tests. */
import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import {
  Codec,
  EndReason,
  FrameType,
  Trigger,
  encodeFrame,
  type AudioFrame,
  type EndFrame,
  type Frame,
  type WakeFrame,
} from '@budlink/protocol';

export function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });
}

export function bytes(frame: Frame): Uint8Array {
  const r = encodeFrame(frame);
  if (!r.ok) throw new Error(`test bug: ${r.error.message}`);
  return r.bytes;
}

export function wake(stream: number, seq = 0): WakeFrame {
  return {
    type: FrameType.WAKE,
    stream,
    seq,
    trigger: Trigger.WAKEWORD,
    score: 200,
    codec: Codec.PCM_U8,
    sampleRate: 8000,
    preRollMs: 500,
    wakeStart: 100,
    wakeEnd: 900,
  };
}

export function audio(stream: number, seq: number, fill: number, n = 4): AudioFrame {
  return { type: FrameType.AUDIO, stream, seq, samples: new Uint8Array(n).fill(fill) };
}

export function end(stream: number, seq: number, totalSamples: number): EndFrame {
  return {
    type: FrameType.END,
    stream,
    seq,
    reason: EndReason.SILENCE,
    lastSeq: (seq - 1) & 0xffff,
    totalSamples,
  };
}
