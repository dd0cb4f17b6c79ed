/**
 * The protocol side of a scripted earbud (8-bit PCM at 8 kHz, board 'bench'), whatever carries its
 * frames: a fake Connection (host.bench.ts) or a SimPeripheral behind the InProcessLink (voice.bench.ts).
 */
import { Codec, FrameType, Trigger, type CreditFrame, type Frame } from '@budlink/protocol';

export function helloFrame(maxPayload: number, nonce: number): Frame {
  return {
    type: FrameType.HELLO,
    stream: 0,
    seq: 0,
    protoMajor: 1,
    protoMinor: 0,
    capabilities: 0x0f,
    codecs: Codec.PCM_U8,
    sampleRate: 8000,
    maxPayload,
    ringFrames: 64,
    nonce,
    board: 'bench',
  };
}

/** The WAKE opening an utterance started by a tap. */
export function tapWakeFrame(stream: number): Frame {
  return {
    type: FrameType.WAKE,
    stream,
    seq: 0,
    trigger: Trigger.TAP,
    score: 255,
    codec: Codec.PCM_U8,
    sampleRate: 8000,
    preRollMs: 0,
    wakeStart: 0,
    wakeEnd: 0,
  };
}

/** A speaker that plays at once: every PLAY and PLAY_END is answered with its CREDIT. */
export class InstantSpeaker {
  private readonly played = new Map<number, number>();

  /** The CREDIT answering the host's frame `f`, if it needs one. */
  answer(f: Frame): CreditFrame | undefined {
    if (f.type === FrameType.PLAY) {
      const n = (this.played.get(f.stream) ?? 0) + f.samples.length;
      this.played.set(f.stream, n);
      return credit(f.stream, f.seq, n);
    }
    if (f.type === FrameType.PLAY_END) {
      this.played.delete(f.stream);
      return credit(f.stream, f.seq, f.totalSamples);
    }
    return undefined;
  }
}

function credit(stream: number, seq: number, playedSamples: number): CreditFrame {
  return {
    type: FrameType.CREDIT,
    stream,
    seq: 0,
    upTo: (seq + 16) & 0xffff,
    freeBytes: 4000,
    playedSamples,
  };
}
