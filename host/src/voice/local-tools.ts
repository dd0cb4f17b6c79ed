/**
 * The Debian programs the offline voice service (local.ts) runs as child processes: pocketsphinx
 * (speech-to-text, `pocketsphinx_continuous` of Debian's 0.8 package, with the en-us model of
 * pocketsphinx-en-us) and espeak-ng (speech). Finding them on PATH, running one with a deadline and
 * a cancel signal, and the two conversions: utterance → 16 kHz WAV → words, text → WAV → samples.
 * The quality bench (bench/voice-quality.bench.ts) scores with the same recognise().
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { decodeWav, encodeWav, resample, WavError, type DecodedWav } from '../audio/index';
import { mulberry32 } from '@budlink/protocol/audio';
import { VoiceError } from './types';

/** The programs, and the Debian package that installs each (named in the missing-binary error). */
export const LOCAL_TOOLS = {
  stt: { bin: 'pocketsphinx_continuous', pkg: 'pocketsphinx' },
  tts: { bin: 'espeak-ng', pkg: 'espeak-ng' },
} as const;

/** Where Debian's pocketsphinx-en-us puts the acoustic model pocketsphinx_continuous loads by default. */
export const DEFAULT_ACOUSTIC_MODEL = '/usr/share/pocketsphinx/model/en-us/en-us';
export const ACOUSTIC_MODEL_PACKAGE = 'pocketsphinx-en-us';

/** The rate the en-us acoustic model was trained at: every utterance is resampled to it. */
export const STT_RATE = 16000;

/** The first executable file called `name` in the PATH of `env`, or undefined. */
export function findOnPath(name: string, env: Record<string, string | undefined>): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Both programs the local service needs are on the PATH of `env` (what makes 'local' the default). */
export function localToolsOnPath(env: Record<string, string | undefined>): boolean {
  return (
    findOnPath(LOCAL_TOOLS.stt.bin, env) !== undefined && findOnPath(LOCAL_TOOLS.tts.bin, env) !== undefined
  );
}

/**
 * What the local service lacks here: the programs not on PATH and, when missing, the acoustic model,
 * each with the Debian package that installs it (empty when it can run).
 */
export function missingLocalTools(env: Record<string, string | undefined>): { what: string; pkg: string }[] {
  const missing: { what: string; pkg: string }[] = [LOCAL_TOOLS.stt, LOCAL_TOOLS.tts]
    .filter((t) => findOnPath(t.bin, env) === undefined)
    .map((t) => ({ what: `${t.bin} (not on PATH)`, pkg: t.pkg }));
  if (!existsSync(DEFAULT_ACOUSTIC_MODEL)) {
    missing.push({ what: `the en-us model (no ${DEFAULT_ACOUSTIC_MODEL})`, pkg: ACOUSTIC_MODEL_PACKAGE });
  }
  return missing;
}

/** A program's path, or the missing-binary error naming the package that installs it. */
export function requireTool(
  tool: { bin: string; pkg: string },
  env: Record<string, string | undefined>,
): string {
  const p = findOnPath(tool.bin, env);
  if (p === undefined) {
    throw new VoiceError(
      'missing-binary',
      `local voice: ${tool.bin} is not on PATH; install it with: apt-get install ${tool.pkg}` +
        ` (scripts/install-system-deps.sh installs it)`,
    );
  }
  return p;
}

export interface RunOptions {
  /** Bytes written to the child's standard input (then closed). */
  stdin?: Uint8Array;
  /** Kills the child (SIGKILL) and rejects with VoiceError 'cancelled'. */
  signal?: AbortSignal;
  /** Kills the child and rejects with VoiceError 'timeout' after this long. */
  timeoutMs: number;
  /** Standard output kept, at most (the child is killed past it). */
  maxStdoutBytes?: number;
}

/** Standard error's tail kept for the error message. */
const STDERR_TAIL = 4096;

/** The line of a program's log that says what went wrong (pocketsphinx: its last ERROR/FATAL line). */
function failureLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim());
  const bad = lines.filter((l) => /^(FATAL|ERROR)\b/.test(l) || /error/i.test(l));
  return (bad[bad.length - 1] ?? lines.filter((l) => l !== '').pop() ?? '').slice(0, 300);
}

/** Run `path args…`; resolve with its standard output when it exits 0. */
export function runTool(path: string, args: readonly string[], options: RunOptions): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const name = path.split('/').pop() ?? path;
    if (options.signal?.aborted) {
      reject(new VoiceError('cancelled', `local voice: ${name} cancelled`));
      return;
    }
    const child = spawn(path, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let settled = false;
    const max = options.maxStdoutBytes ?? 64 << 20;
    const finish = (e: VoiceError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (e) {
        child.kill('SIGKILL');
        reject(e);
      } else {
        resolve(new Uint8Array(Buffer.concat(out)));
      }
    };
    const onAbort = (): void => finish(new VoiceError('cancelled', `local voice: ${name} cancelled`));
    options.signal?.addEventListener('abort', onAbort);
    const timer = setTimeout(
      () =>
        finish(new VoiceError('timeout', `local voice: ${name} took longer than ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    child.stdout.on('data', (d: Buffer) => {
      outBytes += d.length;
      if (outBytes > max)
        finish(new VoiceError('child-failed', `local voice: ${name} wrote more than ${max} bytes`));
      else out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString('utf8')).slice(-STDERR_TAIL);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      finish(
        e.code === 'ENOENT'
          ? new VoiceError('missing-binary', `local voice: ${path} disappeared (${e.message})`)
          : new VoiceError('child-failed', `local voice: ${name} could not start: ${e.message}`),
      );
    });
    child.on('close', (code, sig) => {
      if (code === 0) finish(undefined);
      else {
        const why = failureLine(err);
        finish(
          new VoiceError(
            'child-failed',
            `local voice: ${name} ${code === null ? `was killed (${String(sig)})` : `exited ${code}`}` +
              (why ? `: ${why}` : ''),
          ),
        );
      }
    });
    // A child that dies before reading all of its input: the exit status says why, not EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin === undefined ? undefined : Buffer.from(options.stdin));
  });
}

/** Level of the noise that fills the band a narrow-band utterance lacks (RMS re full scale). */
export const BAND_FILL_DBFS = -45;

/** Gaussian white noise, `rmsDbfs` RMS re full scale (32768), the same for the same seed. */
export function whiteNoise(n: number, rmsDbfs: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  const sigma = 32768 * 10 ** (rmsDbfs / 20);
  const out = new Float64Array(n);
  // Box-Muller
  for (let i = 0; i < n; i++)
    out[i] = sigma * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return out;
}

/**
 * 16 kHz audio that came from `bandRate` (< 16 kHz) has nothing above bandRate/2, where the en-us
 * model's upper mel filters expect at least a noise floor: their log energies then sit far below
 * anything it was trained on, and recognition collapses (on the voice-quality bench's corpus, 8 kHz
 * speech went from about 0.5 to 0.98 WER without this). Fill that band with white noise at
 * BAND_FILL_DBFS, high-passed at bandRate/2 by subtracting its own band-limited copy (fixed seed).
 */
export function fillEmptyBand(
  pcm: Int16Array,
  bandRate: number,
  rate = STT_RATE,
  dbfs = BAND_FILL_DBFS,
): Int16Array {
  if (bandRate >= rate || pcm.length === 0) return pcm;
  const noise = Int16Array.from(whiteNoise(pcm.length, dbfs, 0x5eed), Math.round);
  const low = resample(resample(noise, rate, bandRate), bandRate, rate);
  const out = new Int16Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) {
    const v = (pcm[i] as number) + (noise[i] as number) - (low[i] ?? 0);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out;
}

export interface RecogniseOptions {
  /** The pocketsphinx_continuous to run (default: found on PATH). */
  bin?: string;
  /** Extra arguments, e.g. ['-lm', 'corpus.arpa'] (default: the en-us model's own LM and dictionary). */
  args?: readonly string[];
  signal?: AbortSignal;
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
  /** The rate the audio was band-limited by before it reached `sampleRate` (default: sampleRate). */
  bandRate?: number;
}

/** pocketsphinx prints each hypothesis on a line: join them, dropping filler tokens (<sil>, [noise]). */
export function parseHypotheses(stdout: string): string {
  return stdout
    .split('\n')
    .flatMap((l) => l.trim().split(/\s+/))
    .filter((w) => w !== '' && !/^[<[].*[>\]]$/.test(w))
    .join(' ');
}

/**
 * Words pocketsphinx hears in an utterance (16-bit mono at any rate: resampled to 16 kHz with the
 * band-limited resampler, the band above a narrow-band utterance's Nyquist filled (fillEmptyBand), handed over as a WAV file in a temporary directory removed afterwards).
 * '' when it hears none.
 */
export async function recognise(
  pcm: Int16Array,
  sampleRate: number,
  options: RecogniseOptions = {},
): Promise<string> {
  const env = options.env ?? process.env;
  const bin = options.bin ?? requireTool(LOCAL_TOOLS.stt, env);
  if (options.args === undefined || !options.args.includes('-hmm')) {
    if (!existsSync(DEFAULT_ACOUSTIC_MODEL)) {
      throw new VoiceError(
        'missing-binary',
        `local voice: no acoustic model at ${DEFAULT_ACOUSTIC_MODEL}; install it with: apt-get install ${ACOUSTIC_MODEL_PACKAGE}`,
      );
    }
  }
  const audio = fillEmptyBand(
    sampleRate === STT_RATE ? pcm : resample(pcm, sampleRate, STT_RATE),
    Math.min(options.bandRate ?? sampleRate, sampleRate),
  );
  // A file, not standard input: Node's stdio pipes are sockets, which pocketsphinx cannot fopen().
  const dir = await mkdtemp(join(tmpdir(), 'budlink-stt-'));
  try {
    const wav = join(dir, 'utterance.wav');
    await writeFile(wav, encodeWav(audio, STT_RATE));
    const out = await runTool(bin, ['-infile', wav, ...(options.args ?? [])], {
      signal: options.signal,
      timeoutMs: options.timeoutMs ?? 60000,
    });
    return parseHypotheses(Buffer.from(out).toString('utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * espeak-ng --stdout cannot seek back on a pipe, so its header keeps placeholder sizes (0x7ffff000 and
 * the like) larger than what follows: set the data and RIFF sizes to what arrived. Other files pass.
 */
export function sealStreamedWav(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 12) return bytes;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 12;
  while (o + 8 <= bytes.length) {
    const id = String.fromCharCode(...bytes.subarray(o, o + 4));
    const size = dv.getUint32(o + 4, true);
    if (id === 'data') {
      const have = bytes.length - (o + 8);
      if (size <= have) return bytes;
      const fixed = new Uint8Array(bytes);
      const fdv = new DataView(fixed.buffer);
      fdv.setUint32(o + 4, have, true);
      fdv.setUint32(4, fixed.length - 8, true);
      return fixed;
    }
    o += 8 + size + (size & 1);
  }
  return bytes;
}

export interface SpeakOptions {
  /** The espeak-ng to run (default: found on PATH). */
  bin?: string;
  /** espeak-ng voice (-v), e.g. 'en-us', 'en-gb-x-rp', 'en-us+f3' (default en-us). */
  voice?: string;
  /** Words per minute (-s; default espeak-ng's 175). */
  wpm?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
}

/** `text` spoken by espeak-ng (the text goes on standard input, never on the command line). */
export async function speak(text: string, options: SpeakOptions = {}): Promise<DecodedWav> {
  const env = options.env ?? process.env;
  const bin = options.bin ?? requireTool(LOCAL_TOOLS.tts, env);
  const args = ['--stdin', '--stdout', '-v', options.voice ?? 'en-us'];
  if (options.wpm !== undefined) args.push('-s', String(options.wpm));
  const out = await runTool(bin, args, {
    stdin: new TextEncoder().encode(text),
    signal: options.signal,
    timeoutMs: options.timeoutMs ?? 60000,
  });
  try {
    return decodeWav(sealStreamedWav(out));
  } catch (e) {
    if (e instanceof WavError)
      throw new VoiceError('child-failed', `local voice: espeak-ng wrote no WAV: ${e.message}`);
    throw e;
  }
}
