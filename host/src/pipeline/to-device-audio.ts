/**
 * Operator: voice-service events -> reply audio bytes in the device's codec and sample rate.
 * Only `audio` events are used; each is resampled (band-limited, streaming: no clicks at chunk
 * boundaries) from whatever rate the service returned to the device rate, then converted to the
 * device codec (PCM_U8 offset binary, or PCM_S16LE). If the service changes its rate mid-reply the
 * resampler is flushed and restarted. The held-back filter tail is emitted when the source completes.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { Codec } from '@budlink/protocol';
import { s16ToU8, writeS16LE } from '../audio/pcm';
import { Resampler } from '@budlink/protocol/audio';
import { VoiceError } from '../voice/types';
import { errorText } from './error-text';
import type { VoiceEvent } from '../voice/types';

export interface DeviceAudioFormat {
  codec: number;
  sampleRate: number;
}

/** Bytes per sample of a device codec. */
export function bytesPerSample(codec: number): number {
  return codec === Codec.PCM_S16LE ? 2 : 1;
}

/** Int16 samples -> device codec bytes. */
export function encodeSamples(pcm: Int16Array, codec: number): Uint8Array {
  if (codec !== Codec.PCM_S16LE) return s16ToU8(pcm);
  const out = new Uint8Array(pcm.length * 2);
  writeS16LE(out, 0, pcm);
  return out;
}

export function toDeviceAudio(format: DeviceAudioFormat): OperatorFunction<VoiceEvent, Uint8Array> {
  return (source) =>
    new Observable<Uint8Array>((subscriber) => {
      let resampler: Resampler | undefined;
      const emit = (pcm: Int16Array): void => {
        if (pcm.length > 0) subscriber.next(encodeSamples(pcm, format.codec));
      };
      return source.subscribe({
        next: (event) => {
          if (event.kind !== 'audio' || event.pcm.length === 0) return;
          if (resampler && resampler.fromHz !== event.sampleRate) {
            emit(resampler.flush());
            resampler = undefined;
          }
          try {
            resampler ??= new Resampler(event.sampleRate, format.sampleRate);
            emit(resampler.push(event.pcm));
          } catch (e) {
            // A rate the resampler cannot take is the service's fault: the reply fails, the bridge goes on.
            subscriber.error(
              new VoiceError('malformed', `reply audio at ${event.sampleRate} Hz: ${errorText(e)}`),
            );
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => {
          if (resampler) emit(resampler.flush());
          subscriber.complete();
        },
      });
    });
}
