/**
 * The reply to one accepted utterance at a time: the voice request, the reply audio converted to
 * the device format, packetized and paced by the device's CREDITs (PLAY…PLAY_END), its report's
 * stage timings, and how it ends: complete, cancelled by a barge-in (PLAY_END CANCELLED, the
 * service told how much was heard), failed, or aborted (link lost, device restarted).
 */
import { Observable, Subscription, type SchedulerLike } from 'rxjs';
import {
  Codec,
  FrameType,
  HEADER_BYTES,
  PlayEndReason,
  type AckFrame,
  type CreditFrame,
  type Frame,
  type PlayEndFrame,
} from '@budlink/protocol';
import { s16FromLE, u8ToS16 } from '../audio/pcm';
import {
  MAX_REPLY_AUDIO_MS,
  VoiceError,
  type VoiceEvent,
  type VoiceRequest,
  type VoiceService,
} from '../voice/types';
import { errorText } from './error-text';
import { packetize } from './packetize';
import { pacePlayback, type PlaybackOutput, type PlaybackProgress } from './pace-playback';
import type { ReportTracker } from './report-tracker';
import type { SessionInput } from './session-state';
import { bytesPerSample, toDeviceAudio } from './to-device-audio';
import type { DeviceLog, SessionHooks, Utterance, UtteranceReport } from './types';

/** Decode device-codec bytes to s16 for the voice service. */
export function utteranceToS16(utterance: Utterance): Int16Array {
  return utterance.codec === Codec.PCM_S16LE ? s16FromLE(utterance.samples) : u8ToS16(utterance.samples);
}

/** The device's audio format and frame size (from the WELCOME). */
export interface ReplyFormat {
  codec: number;
  sampleRate: number;
  payloadSize: number;
}

export interface ReplyControllerOptions {
  deviceId: string;
  voice: VoiceService;
  reports: ReportTracker;
  /** Writes a frame to the device. */
  send: (frame: Frame) => void;
  /** Tells the session state machine. */
  input: (input: SessionInput) => void;
  /** CREDIT and ACK frames from the device. */
  feedback$: Observable<CreditFrame | AckFrame>;
  /** The device's negotiated sample rate now (barge-in truncation), undefined before WELCOME. */
  deviceRate: () => number | undefined;
  playInitialWindow: number;
  playStallMs: number;
  playDrainMarginMs: number;
  playCreditProbeMs: number;
  playNackHoldMs: number;
  scheduler: SchedulerLike;
  now: () => number;
  hooks: SessionHooks;
  log: DeviceLog;
}

export type ReplyEnd = 'cancelled' | 'error' | 'aborted';

interface Reply {
  report: UtteranceReport;
  sub: Subscription;
  stream: number;
  progress: PlaybackProgress;
  playStarted: boolean;
  ended: boolean;
}

export class ReplyController {
  /** PLAY stream id of the last reply (1..255, wrapping). */
  private lastStream = 0;
  private reply: Reply | undefined;

  constructor(private readonly options: ReplyControllerOptions) {}

  /** A reply is in flight. */
  get active(): boolean {
    return this.reply !== undefined;
  }

  /** Answer `utterance` (its report: `report`), ending any reply in flight as cancelled first. */
  start(utterance: Utterance, report: UtteranceReport, format: ReplyFormat | undefined): void {
    this.end('cancelled');
    if (!format) return;
    this.lastStream = (this.lastStream % 255) + 1;
    const progress: PlaybackProgress = { nextSeq: 0, lastSeq: undefined, samplesSent: 0, samplesPlayed: 0 };
    const r: Reply = {
      report,
      sub: new Subscription(),
      stream: this.lastStream,
      progress,
      playStarted: false,
      ended: false,
    };
    this.reply = r;
    const o = this.options;
    const bps = bytesPerSample(format.codec);
    r.sub.add(
      this.voiceEvents(utterance, report)
        .pipe(
          toDeviceAudio({ codec: format.codec, sampleRate: format.sampleRate }),
          packetize(format.payloadSize - HEADER_BYTES, bps),
          pacePlayback({
            stream: r.stream,
            firstSeq: 0,
            feedback$: o.feedback$,
            bytesPerSample: bps,
            initialWindow: o.playInitialWindow,
            stallMs: o.playStallMs,
            drainMarginMs: o.playDrainMarginMs,
            probeMs: o.playCreditProbeMs,
            nackHoldMs: o.playNackHoldMs,
            sampleRate: format.sampleRate,
            scheduler: o.scheduler,
            progress,
          }),
        )
        .subscribe({
          next: (out) => this.onPlayback(r, out),
          error: (e: unknown) => {
            const text = errorText(e);
            o.log('error', `voice reply failed (${o.voice.name}): ${text}`);
            this.end('error', text);
            o.input({ kind: 'error', detail: 0, reason: text });
          },
        }),
    );
  }

  /** End the reply in flight: unsubscribe, PLAY_END as needed, barge-in truncation, its report. */
  end(why: ReplyEnd, error?: string): void {
    const r = this.reply;
    if (!r || r.ended) return;
    r.ended = true;
    this.reply = undefined;
    r.sub.unsubscribe();
    if (r.playStarted) {
      this.options.send({
        type: FrameType.PLAY_END,
        stream: r.stream,
        seq: r.progress.nextSeq,
        reason: why === 'error' ? PlayEndReason.ERROR : PlayEndReason.CANCELLED,
        lastSeq: r.progress.lastSeq ?? 0xffff,
        totalSamples: r.progress.samplesSent,
      });
      if (why === 'cancelled') this.truncate(r);
    }
    this.options.reports.finish(r.report, why, error);
  }

  /** The device cut playback itself (barge-in on the earbud): remember what was heard. */
  devicePlayEnd(frame: PlayEndFrame): void {
    const r = this.reply;
    if (r && frame.stream === r.stream && frame.totalSamples > r.progress.samplesPlayed) {
      r.progress.samplesPlayed = Math.min(frame.totalSamples, r.progress.samplesSent);
    }
  }

  /** The voice service's reply to `utterance`, its stages stamped on `report` as they pass. */
  private voiceEvents(utterance: Utterance, report: UtteranceReport): Observable<VoiceEvent> {
    const o = this.options;
    return new Observable<VoiceEvent>((s) => {
      const request: VoiceRequest = {
        deviceId: o.deviceId,
        audio: utteranceToS16(utterance),
        sampleRate: utterance.sampleRate,
      };
      o.reports.stamp(report, 'serviceRequest');
      o.hooks.serviceRequest?.(request, o.now());
      let first = true;
      let audioMs = 0;
      return o.voice.respond(request).subscribe({
        next: (event) => {
          if (event.kind === 'audio') audioMs += (event.pcm.length * 1000) / event.sampleRate;
          if (audioMs > MAX_REPLY_AUDIO_MS) {
            const limit = `${MAX_REPLY_AUDIO_MS / 60_000} minutes`;
            s.error(
              new VoiceError('malformed', `${o.voice.name}: reply audio longer than ${limit}, refused`),
            );
            return;
          }
          if (event.kind === 'audio' && first && event.pcm.length > 0) {
            first = false;
            o.reports.stamp(report, 'firstReplyAudio');
            o.hooks.firstReplyAudio?.(o.now());
          } else if (event.kind === 'transcript' && event.final) {
            report.transcript[event.role] = event.text;
            o.log('info', `${event.role}: ${event.text}`, { role: event.role });
          }
          s.next(event);
        },
        error: (e: unknown) => s.error(e),
        complete: () => s.complete(),
      });
    });
  }

  private onPlayback(r: Reply, out: PlaybackOutput): void {
    const o = this.options;
    if (out.kind === 'frame') {
      if (out.frame.type === FrameType.PLAY) {
        const first = !r.playStarted;
        if (first) {
          r.playStarted = true;
          o.input({ kind: 'reply-audio' });
          o.reports.stamp(r.report, 'firstPlay');
        }
        o.hooks.playFrame?.(out.frame, first, o.now());
        r.report.replySamples = r.progress.samplesSent;
        o.send(out.frame);
      } else if (r.playStarted) {
        o.send(out.frame);
      }
    } else if (out.kind === 'played') {
      o.input({ kind: 'activity' });
    } else {
      r.ended = true;
      this.reply = undefined;
      if (!out.drained) o.log('warn', 'device never reported the end of playback');
      o.reports.stamp(r.report, 'playbackEnd');
      r.report.replySamples = out.totalSamples;
      o.reports.finish(r.report, 'complete');
      o.input({ kind: 'reply-done' });
    }
  }

  /** Tell the voice service how much of the cut reply the wearer heard. */
  private truncate(r: Reply): void {
    const rate = this.options.deviceRate();
    if (rate === undefined) return;
    const heardMs = Math.round((r.progress.samplesPlayed * 1000) / rate);
    this.options.voice.truncate(this.options.deviceId, heardMs).catch((e: unknown) => {
      this.options.log('warn', `voice truncate failed: ${errorText(e)}`);
    });
    this.options.log('info', `barge-in: playback cut after ${heardMs} ms heard`);
  }
}
