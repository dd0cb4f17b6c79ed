/**
 * Loopback voice service: no network. Each utterance is answered with itself: a user transcript
 * placeholder (the utterance length), the input audio back in chunks at its own rate, then done.
 * Used by benches and the demo, and as the reference for what a service must emit.
 */
import { Observable } from 'rxjs';
import type { VoiceEvent, VoiceRequest, VoiceService } from './types';
import { requestProblem } from './types';

export interface LoopbackOptions {
  /** Audio event size in milliseconds (default 100). */
  chunkMs?: number;
}

export class LoopbackVoiceService implements VoiceService {
  readonly name = 'loopback';
  private readonly chunkMs: number;
  private closed = false;

  constructor(options: LoopbackOptions = {}) {
    this.chunkMs = options.chunkMs ?? 100;
  }

  respond(request: VoiceRequest): Observable<VoiceEvent> {
    return new Observable<VoiceEvent>((sub) => {
      const problem = requestProblem(request, this.closed, 'loopback voice service');
      if (problem) {
        sub.error(problem);
        return undefined;
      }
      // Emit asynchronously, like a real service, so unsubscribe right after subscribe is meaningful.
      const timer = setImmediate(() => {
        const seconds = request.audio.length / request.sampleRate;
        sub.next({
          kind: 'transcript',
          role: 'user',
          text: `[loopback: ${seconds.toFixed(2)} s of audio]`,
          final: true,
        });
        const step = Math.max(1, Math.round((request.sampleRate * this.chunkMs) / 1000));
        for (let i = 0; i < request.audio.length && !sub.closed; i += step) {
          sub.next({ kind: 'audio', pcm: request.audio.slice(i, i + step), sampleRate: request.sampleRate });
        }
        sub.next({ kind: 'done' });
        sub.complete();
      });
      return () => clearImmediate(timer);
    });
  }

  async truncate(_deviceId: string, _heardMs: number): Promise<void> {
    // No history to cut.
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
