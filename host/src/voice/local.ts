/**
 * Local voice service: offline, no network, built from Debian packages. The utterance goes to
 * pocketsphinx (16 kHz WAV on its standard input), the words to a small rule set (local-chat.ts:
 * "You said: …", the time, the date, a greeting), the reply to espeak-ng, whose WAV is emitted as
 * audio in chunks at its own rate (22.05 kHz). Events: user transcript (final), assistant transcript
 * (partial, then final after the audio), audio, done: the same contract as the other adapters.
 *
 * Errors: 'missing-binary' names the package to install; 'child-failed' when a program exits non-zero
 * or writes nonsense; 'timeout'; 'bad-request' for audio no service could take. Hearing no words is
 * not an error: the reply is "Sorry, I didn't catch that."
 *
 * No history is kept (the rules answer each utterance alone), so truncate() has nothing to cut.
 */
import { Observable } from 'rxjs';
import { localReply } from './local-chat';
import { LOCAL_TOOLS, recognise, requireTool, speak } from './local-tools';
import { VoiceError, requestProblem, type VoiceEvent, type VoiceRequest, type VoiceService } from './types';

export interface LocalVoiceOptions {
  /** PATH and the like for finding the programs (default process.env). */
  env?: Record<string, string | undefined>;
  /** Audio event size in milliseconds (default 100). */
  chunkMs?: number;
  /** Longest run of either program (default 60 s). */
  childTimeoutMs?: number;
  /** espeak-ng voice (default en-us). */
  voice?: string;
  /** Extra pocketsphinx_continuous arguments (e.g. another language model). */
  sttArgs?: readonly string[];
  /** The clock the time and date answers read (default: the system clock). */
  now?: () => Date;
}

export class LocalVoiceService implements VoiceService {
  readonly name = 'local (pocketsphinx + espeak-ng)';
  private readonly env: Record<string, string | undefined>;
  private readonly chunkMs: number;
  private readonly timeoutMs: number;
  private readonly inflight = new Set<AbortController>();
  private closed = false;

  constructor(private readonly options: LocalVoiceOptions = {}) {
    this.env = options.env ?? process.env;
    this.chunkMs = options.chunkMs ?? 100;
    this.timeoutMs = options.childTimeoutMs ?? 60000;
  }

  respond(request: VoiceRequest): Observable<VoiceEvent> {
    return new Observable<VoiceEvent>((sub) => {
      const problem = requestProblem(request, this.closed, this.name);
      if (problem) {
        sub.error(problem);
        return undefined;
      }
      const ctrl = new AbortController();
      this.inflight.add(ctrl);
      this.run(request, ctrl.signal, (e) => {
        if (!ctrl.signal.aborted) sub.next(e);
      })
        .then(
          () => sub.complete(),
          (e: unknown) => {
            if (ctrl.signal.aborted && !this.closed) return; // unsubscribed: nobody is listening
            sub.error(
              this.closed
                ? new VoiceError('closed', `${this.name}: service closed`)
                : e instanceof VoiceError
                  ? e
                  : new VoiceError(
                      'child-failed',
                      `local voice: ${e instanceof Error ? e.message : String(e)}`,
                    ),
            );
          },
        )
        .finally(() => this.inflight.delete(ctrl));
      return () => ctrl.abort();
    });
  }

  private async run(req: VoiceRequest, signal: AbortSignal, emit: (e: VoiceEvent) => void): Promise<void> {
    // Both programs are checked first: a missing espeak-ng is reported before a recognition is wasted.
    const stt = requireTool(LOCAL_TOOLS.stt, this.env);
    const tts = requireTool(LOCAL_TOOLS.tts, this.env);
    const heard = await recognise(req.audio, req.sampleRate, {
      bin: stt,
      args: this.options.sttArgs,
      signal,
      timeoutMs: this.timeoutMs,
      env: this.env,
    });
    emit({ kind: 'transcript', role: 'user', text: heard, final: true });
    const reply = localReply(heard, { now: this.options.now?.() ?? new Date() }).text;
    emit({ kind: 'transcript', role: 'assistant', text: reply, final: false });
    const wav = await speak(reply, {
      bin: tts,
      voice: this.options.voice,
      signal,
      timeoutMs: this.timeoutMs,
      env: this.env,
    });
    if (wav.samples.length === 0)
      throw new VoiceError('child-failed', 'local voice: espeak-ng spoke no audio');
    const step = Math.max(1, Math.round((wav.sampleRate * this.chunkMs) / 1000));
    for (let i = 0; i < wav.samples.length && !signal.aborted; i += step) {
      emit({ kind: 'audio', pcm: wav.samples.slice(i, i + step), sampleRate: wav.sampleRate });
    }
    emit({ kind: 'transcript', role: 'assistant', text: reply, final: true });
    emit({ kind: 'done' });
  }

  async truncate(_deviceId: string, _heardMs: number): Promise<void> {
    // No history to cut: every utterance is answered alone.
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.inflight) c.abort();
  }
}
