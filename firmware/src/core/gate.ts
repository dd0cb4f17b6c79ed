/**
 * The wake gate: listening → candidate → streaming → ended → listening.
 *
 * One `onBuffer` call per microphone buffer, after the VAD and after the samples were written to the
 * sample ring (so `endSample` = ring.written). Sample indices are absolute (samples since boot).
 *
 *   LISTENING  --speech-->                         CANDIDATE (onset = first sample of that buffer)
 *   CANDIDATE  --detector hit-->                   STREAMING  (emits wake)
 *   CANDIDATE  --quiet for candidateQuietBuffers--> LISTENING
 *   any        --tap()-->                          STREAMING  (trigger TAP)        [if canStart]
 *   STREAMING  --quiet for hangoverMs-->           ENDED (SILENCE)
 *   STREAMING  --length >= maxUtteranceMs-->       ENDED (MAX_LENGTH)
 *   STREAMING  --tap() / stop(reason)-->           ENDED (TAP / reason)
 *   ENDED      --next buffer-->                    LISTENING
 *
 * Wake detection is pluggable (WakeDetector); a real wake-word model plugs in without touching this.
 */
import { EndReason, Trigger } from '@budlink/protocol';
import type { EndReasonCode, TriggerCode } from '@budlink/protocol';

export const GateState = { LISTENING: 0, CANDIDATE: 1, STREAMING: 2, ENDED: 3 } as const;
export type GateStateCode = (typeof GateState)[keyof typeof GateState];

/** A wake decision: where (absolute sample indices) the wake event starts and ends. */
export interface WakeHit {
  trigger: TriggerCode;
  /** 0..255 */
  score: number;
  startSample: number;
  endSample: number;
}

/**
 * Pluggable wake detector, called once per buffer while the gate is a CANDIDATE.
 * `onsetSample` is where the candidate speech began; `endSample` is one past the buffer's last sample.
 */
export interface WakeDetector {
  readonly trigger: TriggerCode;
  detect(buf: Uint8Array, speech: boolean, onsetSample: number, endSample: number): WakeHit | null;
  reset(): void;
}

/**
 * Voice-activity "wake": speech sustained for `minSpeechSamples` within the candidate opens the gate.
 * Score grows with the share of speech buffers.
 */
export class VadWakeDetector implements WakeDetector {
  readonly trigger = Trigger.VAD;
  minSpeechSamples: number;
  private speechSamples = 0;
  private seenSamples = 0;

  constructor(minSpeechSamples: number) {
    this.minSpeechSamples = minSpeechSamples;
  }

  detect(buf: Uint8Array, speech: boolean, onsetSample: number, endSample: number): WakeHit | null {
    this.seenSamples += buf.length;
    if (speech) this.speechSamples += buf.length;
    if (this.speechSamples < this.minSpeechSamples) return null;
    const score = ((this.speechSamples * 255) / this.seenSamples) | 0;
    return { trigger: Trigger.VAD, score: score, startSample: onsetSample, endSample: endSample };
  }

  reset(): void {
    this.speechSamples = 0;
    this.seenSamples = 0;
  }
}

export interface GateOptions {
  rate: number;
  hangoverMs: number;
  maxUtteranceMs: number;
  /** Quiet buffers in a row that drop a candidate. */
  candidateQuietBuffers: number;
}

export interface GateEvents {
  /** The gate opened. Return false to refuse (e.g. the uplink is still busy): the gate stays closed. */
  onWake: (hit: WakeHit) => boolean;
  /** The utterance ends; `endSample` is one past its last sample. */
  onEnd: (reason: EndReasonCode, endSample: number) => void;
}

export class Gate {
  state: GateStateCode = GateState.LISTENING;
  detector: WakeDetector;
  options: GateOptions;
  private events: GateEvents;
  private onset = 0;
  private quietBuffers = 0;
  private quietSamples = 0;
  private openedAt = 0;
  /** One past the last sample seen (absolute). */
  private lastEnd = 0;

  constructor(detector: WakeDetector, options: GateOptions, events: GateEvents) {
    this.detector = detector;
    this.options = options;
    this.events = events;
  }

  /**
   * Feed one buffer's VAD decision; `endSample` is one past the buffer's last sample, `n` its length.
   * The common cases (quiet while listening, streaming) decide here and in streaming(): on Espruino a
   * function's whole text is read each time it runs.
   */
  onBuffer(buf: Uint8Array, speech: boolean, endSample: number, n: number): void {
    this.lastEnd = endSample;
    const s = this.state;
    if (s === GateState.STREAMING) this.streaming(speech, endSample, n);
    else if (speech || s !== GateState.LISTENING) this.listen(buf, speech, endSample, n);
  }

  /** onBuffer() while listening (speech), a candidate, or just ended. */
  private listen(buf: Uint8Array, speech: boolean, endSample: number, n: number): void {
    const s = this.state;
    if (s === GateState.ENDED) this.state = GateState.LISTENING;
    if (s === GateState.LISTENING || s === GateState.ENDED) {
      if (!speech) return;
      this.state = GateState.CANDIDATE;
      this.onset = endSample - n;
      this.quietBuffers = 0;
      this.detector.reset();
    }
    // CANDIDATE
    this.quietBuffers = speech ? 0 : this.quietBuffers + 1;
    const hit = this.detector.detect(buf, speech, this.onset, endSample);
    if (hit) this.open(hit);
    else if (this.quietBuffers >= this.options.candidateQuietBuffers) this.state = GateState.LISTENING;
  }

  /** onBuffer() while streaming: the hangover and the length limit. */
  private streaming(speech: boolean, endSample: number, n: number): void {
    this.quietSamples = speech ? 0 : this.quietSamples + n;
    const o = this.options;
    if (this.quietSamples * 1000 >= o.hangoverMs * o.rate) this.end(EndReason.SILENCE);
    else if ((endSample - this.openedAt) * 1000 >= o.maxUtteranceMs * o.rate) this.end(EndReason.MAX_LENGTH);
  }

  /** Button tap: opens the gate (trigger TAP) or, while streaming, ends the utterance. */
  tap(): void {
    if (this.state === GateState.STREAMING) {
      this.end(EndReason.TAP);
      return;
    }
    const at = this.lastEnd;
    this.open({ trigger: Trigger.TAP, score: 255, startSample: at, endSample: at });
  }

  /** End the utterance (host cancel, errors). No-op unless streaming. */
  stop(reason: EndReasonCode): void {
    if (this.state === GateState.STREAMING) this.end(reason);
  }

  private open(hit: WakeHit): void {
    if (!this.events.onWake(hit)) {
      this.state = GateState.LISTENING;
      return;
    }
    this.state = GateState.STREAMING;
    this.openedAt = hit.startSample;
    this.quietSamples = 0;
  }

  private end(reason: EndReasonCode): void {
    this.state = GateState.ENDED;
    this.events.onEnd(reason, this.lastEnd);
  }
}
