/**
 * Voice quality: how much of what is said survives the earbud's audio chain, scored by a recogniser.
 *
 * Corpus: 20 fixed sentences × 8 espeak-ng voices (accents, a female and a male variant, speeds 150-170
 * words per minute), synthesised at run time into a temporary directory (no audio is committed), each
 * peak-normalised to −3 dBFS with 0.8 s before and 3 s after it, and a −50 dBFS (RMS re full scale)
 * white-noise floor added to the whole input (Gaussian, fixed seed per utterance).
 *
 * Chain (SIMULATED: our own microphone model, not a measurement of hardware): the input is fed at
 * espeak-ng's 22.05 kHz into the simulated earbud's microphone (firmware/sim: linear-interpolation
 * resampling to the board's rate and truncation to the ADC's 8 bits, firmware/sim/mic.ts), the real
 * firmware bundle detects and streams it, the real Bridge (in-process link) reassembles it and hands
 * the voice service its request; a recording service keeps that request's audio. It is scored the way
 * the local voice service would hear it: resampled to 16 kHz with the host's band-limited resampler and
 * read by pocketsphinx_continuous.
 *
 * Ideal at the same rate: the same noisy input resampled by sox (its default high-quality rate
 * effect, no dither, repeatable) to the rate in 8-bit PCM, then by sox back to 16 kHz 16-bit.
 * Source: the same noisy input at 16 kHz 16-bit (sox): the recogniser's own floor on this corpus.
 * Both, and the microphone model alone, are scored on the stretch the firmware would send (0.5 s of
 * pre-roll before the speech, 1.2 s of hangover after it, its defaults), so that every condition
 * carries as much noise around the speech as the chain's request: noise alone makes the recogniser
 * insert words, and longer noise would count against the ideal.
 *
 * Recogniser: Debian's pocketsphinx 0.8 (en-us acoustic model) with a bigram language model of the 20
 * sentences (test/support/speech-score.ts writes it as ARPA text) and a dictionary cut to their words:
 * a closed set, so the figures measure what the audio loses, not open dictation.
 *
 * Metrics (WER = word errors / reference words over the utterances scored):
 *   voice.wer_source_16k                    the source at 16 kHz 16-bit
 *   voice.wer_ideal.<rate>                  ideal at <rate> Hz, 8-bit (the rates of the boards below)
 *   voice.wer_mic_model.<board>             SIMULATED microphone alone (firmware/sim/mic.ts: 8-bit
 *                                           truncation, linear interpolation to the board's rate)
 *   voice.wer_default_rate.<board>          SIMULATED chain at the board's default rate, over the
 *                                           utterances the chain delivered
 *   voice.chain_wer_delta.<board>           SIMULATED chain WER − ideal WER on those same utterances
 *   voice.chain_utterances_missing.<board>  utterances the chain delivered no single request for (the
 *                                           two WER figures above are absent when it delivered none)
 *   voice.quality_bench_s                   the bench's wall time
 *
 * Every recognition fills the band a narrow-band input lacks with −45 dBFS noise first (fillEmptyBand
 * in host/src/voice/local-tools.ts, as the local voice service does): the 16 kHz model reads 8 kHz
 * audio at all only then.
 *
 * BUDLINK_VOICE_QUALITY_SENTENCES=N runs the first N sentences only (a quick look; not for results.json).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom, take, timeout } from 'rxjs';
import { BOARDS } from '@budlink/firmware/boards';
import type { Bench } from './run';
import { bigramArpa, corpusWer, words } from '@budlink/test-support/speech-score';
import { sleep } from '@budlink/test-support/wait';
import { SimulatedEarbud, heardByMic } from '@budlink/sim';
import { decodeWav, encodeWav, u8ToS16 } from '../host/src/audio/index';
import { Bridge } from '../host/src/bridge/index';
import { startSimEnv } from '../host/src/bridge/simenv';
import { findOnPath, missingLocalTools, recognise, speak, whiteNoise } from '../host/src/voice/local-tools';
import { VoiceError, type VoiceEvent, type VoiceRequest, type VoiceService } from '../host/src/voice/types';
import { Observable } from 'rxjs';

export const SENTENCES: readonly string[] = [
  'what is the weather like in paris today',
  'set a timer for ten minutes',
  'turn off the lights in the kitchen',
  'play some quiet music in the living room',
  'what time is it in london',
  'remind me to call my mother tomorrow',
  'how far is the moon from the earth',
  'add milk and eggs to my shopping list',
  'what is the capital of france',
  'tell me a joke about cats',
  'how many days are left until the weekend',
  'turn the volume up a little',
  'wake me up at seven in the morning',
  'send a message to john saying i am late',
  'is it going to rain this afternoon',
  'read me the latest news',
  'call the nearest pizza place',
  'what is twelve times eight',
  'stop the music and go to sleep',
  'find a coffee shop near me',
];

export const VOICES: readonly { voice: string; wpm: number }[] = [
  { voice: 'en-us', wpm: 160 },
  { voice: 'en-us+f3', wpm: 150 },
  { voice: 'en-us+m3', wpm: 170 },
  { voice: 'en-gb', wpm: 160 },
  { voice: 'en-gb-x-rp', wpm: 150 },
  { voice: 'en-gb-scotland', wpm: 165 },
  { voice: 'en-029', wpm: 155 },
  { voice: 'en-us-nyc', wpm: 160 },
];

const BOARD_IDS = ['nrf52840dk', 'puckjs'] as const;
const LEAD_MS = 800;
const TAIL_MS = 3000;
const NOISE_DBFS = -50;
const PEAK_DBFS = -3;
const SPEED = 8;
/** The firmware's default pre-roll and hangover (firmware/src/core/config.ts defaultConfig). */
const PRE_ROLL_MS = 500;
const HANGOVER_MS = 1200;
/** A board whose chain delivers none of this many utterances in a row is not fed the rest. */
const GIVE_UP_AFTER = 8;
const CMUDICT = '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict';

interface Utterance {
  text: string;
  /** The espeak-ng voice that spoke it. */
  voice: string;
  /** The noisy input at `rate` (what goes into the microphone and into sox). */
  pcm: Int16Array;
  rate: number;
  /**
   * The stretch of `pcm` the firmware would send (its default pre-roll before the speech, hangover
   * after it): what the ideal, the source and the microphone model are scored on, so that they carry
   * as much noise around the speech as the chain's request does.
   */
  framed: Int16Array;
  /** `framed` as a file in the temporary directory (for sox). */
  wav: string;
}

/** Peak-normalised speech with silence around it and Gaussian white noise over all of it. */
function noisyInput(speech: Int16Array, rate: number, seed: number): Int16Array {
  let peak = 1;
  for (const v of speech) peak = Math.max(peak, Math.abs(v));
  const gain = (32767 * 10 ** (PEAK_DBFS / 20)) / peak;
  const lead = Math.round((LEAD_MS * rate) / 1000);
  const n = lead + speech.length + Math.round((TAIL_MS * rate) / 1000);
  const noise = whiteNoise(n, NOISE_DBFS, seed);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const s = i >= lead && i < lead + speech.length ? (speech[i - lead] as number) * gain : 0;
    out[i] = Math.max(-32768, Math.min(32767, Math.round(s + (noise[i] as number))));
  }
  return out;
}

function sox(args: string[]): void {
  const r = spawnSync('sox', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sox ${args.join(' ')}: ${r.stderr || r.error?.message}`);
}

/** sox: `wav` to `rate` in `bits`-bit PCM and back to 16 kHz 16-bit; the result's samples. */
function soxRoundTrip(dir: string, wav: string, rate: number, bits: 8 | 16): Int16Array {
  const mid = join(dir, `mid-${rate}-${bits}.wav`);
  const back = join(dir, `back-${rate}-${bits}.wav`);
  const enc = bits === 8 ? 'unsigned-integer' : 'signed-integer';
  // -R repeatable, -D no dither: the board's ADC does not dither either.
  sox(['-R', '-D', wav, '-r', String(rate), '-b', String(bits), '-e', enc, mid]);
  sox(['-R', '-D', mid, '-r', '16000', '-b', '16', '-e', 'signed-integer', back]);
  return decodeWav(new Uint8Array(readFileSync(back))).samples;
}

/**
 * The simulated microphone alone (heardByMic, firmware/sim/core/mic-input.ts, SIMULATED): the input
 * band-limited to the board's rate, then the ADC's 8 bits; widened back as the bridge does.
 */
function micModel(pcm: Int16Array, rate: number, boardRate: number): Int16Array {
  return u8ToS16(heardByMic(pcm, rate, boardRate));
}

/** Records the bridge's voice requests; answers each with an empty reply at once. */
class RecordingVoiceService implements VoiceService {
  readonly name = 'recording';
  readonly requests: VoiceRequest[] = [];

  respond(request: VoiceRequest): Observable<VoiceEvent> {
    this.requests.push(request);
    return new Observable<VoiceEvent>((sub) => {
      const t = setImmediate(() => {
        sub.next({ kind: 'transcript', role: 'user', text: '', final: true });
        sub.next({ kind: 'done' });
        sub.complete();
      });
      return () => clearImmediate(t);
    });
  }

  async truncate(): Promise<void> {}

  async close(): Promise<void> {}
}

/**
 * Every utterance through the simulated earbud of `board` and the Bridge: the request audio of each
 * (undefined where none came, or more than one: a split utterance is not scored as whole).
 */
async function throughChain(
  board: string,
  corpus: readonly Utterance[],
): Promise<(Int16Array | undefined)[]> {
  const service = new RecordingVoiceService();
  const env = await startSimEnv({
    earbuds: [{ board, clock: 'real' as const, speed: SPEED }],
    create: (o) => SimulatedEarbud.create(o),
    transport: 'in-process',
  });
  const earbud = env.earbuds[0];
  if (!earbud) throw new Error('no earbud');
  // No per-minute cap on voice requests: the corpus is spoken faster than anyone talks.
  const bridge = new Bridge({ link: env.link, voice: service, session: { maxUtterancesPerMinute: 0 } });
  const audio: (Int16Array | undefined)[] = [];
  try {
    const hello = firstValueFrom(
      bridge.events$.pipe(
        filter((e) => e.kind === 'hello'),
        take(1),
        timeout(20000),
      ),
    );
    bridge.addDevice(earbud.address);
    await hello;
    earbud.feedSilence(600);
    let dry = 0;
    for (const u of corpus) {
      // Each utterance is queued while the last one's tail still plays: the microphone never runs
      // dry, so it hears one fixed stream whatever the host's timing (the chain is deterministic).
      if (audio.length > 0 && earbud.pendingAudioSamples() === 0) dry++;
      const before = service.requests.length;
      const done = firstValueFrom(
        bridge.events$.pipe(
          filter((e) => e.kind === 'utterance'),
          take(1),
          timeout(((LEAD_MS + TAIL_MS) / SPEED) * 4 + ((u.pcm.length / u.rate) * 1000 * 4) / SPEED + 5000),
        ),
      ).catch(() => undefined);
      earbud.feedAudio(u.pcm, u.rate);
      await done;
      const got = service.requests.slice(before);
      audio.push(got.length === 1 ? got[0]?.audio : undefined);
      if (audio.length >= GIVE_UP_AFTER && audio.slice(-GIVE_UP_AFTER).every((a) => a === undefined)) {
        process.stdout.write(
          `  chain ${board}: ${GIVE_UP_AFTER} utterances in a row not delivered; giving up\n`,
        );
        while (audio.length < corpus.length) audio.push(undefined);
        break;
      }
    }
    while (earbud.pendingAudioSamples() > 0) await sleep(20);
    if (dry > 0)
      process.stdout.write(`  chain ${board}: the microphone ran dry before ${dry} utterance(s)\n`);
  } finally {
    await bridge.stop();
    await env.close();
  }
  return audio;
}

/** Run `fn` over `items`, `n` at a time, results in order. */
async function pool<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}

const round = (v: number): number => Math.round(v * 10000) / 10000;

const bench: Bench = {
  name: 'voice-quality',
  async run() {
    const missing = missingLocalTools(process.env).map((m) => m.pkg);
    if (findOnPath('sox', process.env) === undefined) missing.push('sox');
    if (missing.length > 0) {
      process.stdout.write(
        `  skipped: not installed: ${missing.join(', ')} (scripts/install-system-deps.sh)\n`,
      );
      return {};
    }
    const t0 = performance.now();
    const dir = mkdtempSync(join(tmpdir(), 'budlink-voice-quality-'));
    try {
      // The recogniser's language model and dictionary: the corpus's words only.
      const lm = join(dir, 'corpus.arpa');
      writeFileSync(lm, bigramArpa(SENTENCES));
      const vocab = new Set(SENTENCES.flatMap((s) => words(s)));
      const dictLines = readFileSync(CMUDICT, 'utf8')
        .split('\n')
        .filter((l) => vocab.has(l.split(' ')[0]?.replace(/\(\d+\)$/, '') ?? ''));
      const dict = join(dir, 'corpus.dic');
      writeFileSync(dict, dictLines.join('\n') + '\n');
      const args = ['-lm', lm, '-dict', dict];
      const hear = (pcm: Int16Array, rate: number, bandRate = rate): Promise<string> =>
        recognise(pcm, rate, { args, timeoutMs: 120000, bandRate }).catch((e: unknown) => {
          if (e instanceof VoiceError && e.kind !== 'child-failed') throw e;
          return '';
        });

      const corpus: Utterance[] = [];
      let seed = 1;
      const limit = Number(process.env.BUDLINK_VOICE_QUALITY_SENTENCES ?? SENTENCES.length);
      for (const v of VOICES) {
        for (const text of SENTENCES.slice(0, limit)) {
          const w = await speak(text, { voice: v.voice, wpm: v.wpm });
          const pcm = noisyInput(w.samples, w.sampleRate, seed++);
          const at = (ms: number): number => Math.round((ms * w.sampleRate) / 1000);
          const framed = pcm.subarray(
            at(LEAD_MS - PRE_ROLL_MS),
            at(LEAD_MS) + w.samples.length + at(HANGOVER_MS),
          );
          const wav = join(dir, `u${corpus.length}.wav`);
          writeFileSync(wav, encodeWav(framed, w.sampleRate));
          corpus.push({ text, voice: v.voice, pcm, rate: w.sampleRate, framed, wav });
        }
      }
      process.stdout.write(
        `  corpus: ${corpus.length} utterances (${SENTENCES.length} sentences × ${VOICES.length} voices)\n`,
      );

      const all = corpus.map((_u, i) => i);
      // The chain first, alone on the CPU (the simulated earbud runs on the wall clock).
      const chains: Record<string, (Int16Array | undefined)[]> = {};
      for (const b of BOARD_IDS) {
        const t = performance.now();
        chains[b] = await throughChain(b, corpus);
        const missing = all.filter((i) => chains[b]?.[i] === undefined);
        const which = missing.length > 0 && missing.length < 10 ? ` (${missing.join(', ')})` : '';
        process.stdout.write(
          `  chain ${b}: ${((performance.now() - t) / 1000).toFixed(0)} s, ${missing.length} missing${which}\n`,
        );
      }

      const rateOf = (b: string): number => (BOARDS[b] as { sampleRate: number }).sampleRate;
      const rates = [...new Set(BOARD_IDS.map(rateOf))];
      const verbose = process.env.BUDLINK_VOICE_QUALITY_VERBOSE === '1';
      const hypotheses = async (
        what: string,
        get: (u: Utterance, i: number) => Promise<string>,
      ): Promise<string[]> => {
        const hyps = await pool(all, 2, (i) => get(corpus[i] as Utterance, i));
        if (verbose)
          hyps.forEach((h, i) => process.stdout.write(`  ${what} ${i} ${corpus[i]?.voice}: ${h}\n`));
        return hyps;
      };
      const werOf = (hyps: readonly string[], only: readonly number[] = all): number =>
        corpusWer(
          only.map((i) => ({ reference: (corpus[i] as Utterance).text, hypothesis: hyps[i] as string })),
        );
      const out: Record<string, number> = {};
      const source = await hypotheses('source', (u, i) =>
        hear(soxRoundTrip(mkdtempSync(join(dir, `s${i}-`)), u.wav, 16000, 16), 16000),
      );
      out['voice.wer_source_16k'] = round(werOf(source));
      const ideal: Record<number, string[]> = {};
      for (const r of rates) {
        ideal[r] = await hypotheses(`ideal ${r}`, (u, i) =>
          hear(soxRoundTrip(mkdtempSync(join(dir, `i${r}-${i}-`)), u.wav, r, 8), 16000, r),
        );
        out[`voice.wer_ideal.${r}`] = round(werOf(ideal[r]));
      }
      for (const b of BOARD_IDS) {
        const r = rateOf(b);
        const mic = await hypotheses(`mic ${b}`, (u) => hear(micModel(u.framed, u.rate, r), r));
        out[`voice.wer_mic_model.${b}`] = round(werOf(mic));
        const c = chains[b] as (Int16Array | undefined)[];
        const delivered = all.filter((i) => c[i] !== undefined);
        out[`voice.chain_utterances_missing.${b}`] = corpus.length - delivered.length;
        if (delivered.length === 0) continue; // nothing to score: the missing count says so
        const chain = await hypotheses(`chain ${b}`, (_u, i) => {
          const a = c[i];
          return a === undefined ? Promise.resolve('') : hear(a, r);
        });
        const wer = werOf(chain, delivered);
        out[`voice.wer_default_rate.${b}`] = round(wer);
        out[`voice.chain_wer_delta.${b}`] = round(wer - werOf(ideal[r] as string[], delivered));
      }
      out['voice.quality_bench_s'] = Math.round((performance.now() - t0) / 1000);
      return out;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

export default bench;
