/**
 * The scenario set both engines run (the vm simulator and the real interpreter): the same built
 * bundle, the same microphone audio from the first ADC sample, the same host, so that they must
 * produce the same frames. `transcript()` keeps what must match and drops, by name, what depends on
 * wall-clock timing (listed in TIMING_DEPENDENT). A difference is a bug in one of the engines.
 *
 * Scenarios: VAD wake, tap, NACK recovery (5% notification loss), reconnect mid-utterance, playback
 * with credit, CONFIG of every key (good and bad values, persisted across a power cycle), and the
 * short utterance-and-reply every board runs in CI.
 */
import { fileURLToPath } from 'node:url';
import { ConfigOp, DOWNLINK_UUID, FrameType, PlayEndReason } from '@budlink/protocol';
import type { Frame, WakeFrame, EndFrame } from '@budlink/protocol';
import type { BoardProfile } from '@budlink/firmware/boards';
import { SimHost } from './host';
import type { Earbud, QueuedAudio } from './earbud';
import type { LinkModelOptions } from './link';
import { readWav } from '@budlink/protocol/audio';

export interface ScenarioContext {
  earbud: Earbud;
  host: SimHost;
  /** Let `ms` of device time pass with the host acknowledging. */
  run(ms: number): Promise<void>;
  /** Run until `cond()` holds (checked every 20 ms of device time), at most `ms`. */
  until(cond: () => boolean, ms: number): Promise<boolean>;
  /** Run until the microphone has taken `n` samples (the audio timeline, engine-independent). */
  untilSample(n: number, ms?: number): Promise<void>;
}

export interface Scenario {
  name: string;
  /** Microphone audio from power-on (built for the board's sample rate). */
  audio(board: BoardProfile): QueuedAudio[];
  link?: LinkModelOptions;
  /** It needs the microphone (audio or its timeline): not for a board whose mic is not driven. */
  mic?: boolean;
  run(ctx: ScenarioContext): Promise<void>;
}

const fixtures = (name: string): string =>
  fileURLToPath(new URL(`../../../test/fixtures/audio/${name}`, import.meta.url));

/** 16-bit speech for the board: the 4 kHz clip on 4 kHz boards, the 8 kHz one otherwise. */
function speech(board: BoardProfile): QueuedAudio {
  const w = readWav(
    fixtures(board.sampleRate <= 4000 ? 'hey-budlink-timer-4k.wav' : 'hey-budlink-weather-8k.wav'),
  );
  return { samples: w.samples, rate: w.sampleRate };
}

function silence(board: BoardProfile, ms: number): QueuedAudio {
  return {
    samples: new Uint8Array(Math.round((board.sampleRate * ms) / 1000)).fill(128),
    rate: board.sampleRate,
  };
}

/** Send WELCOME once the device said HELLO (the host's autoWelcome does it on HELLO). */
async function welcomed(ctx: ScenarioContext): Promise<void> {
  if (!(await ctx.until(() => ctx.host.hello !== null, 3000))) throw new Error('no HELLO within 3 s');
  await ctx.run(100);
}

/** Stream `samples` (8-bit) as reply `stream` within the device's CREDIT, then PLAY_END. */
async function reply(ctx: ScenarioContext, stream: number, samples: Uint8Array): Promise<void> {
  const h = ctx.host;
  const per = h.payload - 4;
  const frames = Math.ceil(samples.length / per);
  let seq = 0;
  const deadline = ctx.earbud.now + 20000;
  while (seq < frames && ctx.earbud.now < deadline) {
    const credits = h.frames.filter(
      (f) => f.type === FrameType.CREDIT && (f.stream === stream || seq === 0),
    ) as (Frame & {
      upTo: number;
    })[];
    const c = credits[credits.length - 1];
    // before the first CREDIT of the stream: the initial window PROTOCOL.md allows (4 frames)
    const upTo = c && c.stream === stream ? c.upTo : 4;
    while (seq < frames && ((upTo - seq) & 0xffff) > 0 && ((upTo - seq) & 0xffff) < 0x8000) {
      h.send({ type: FrameType.PLAY, stream, seq, samples: samples.subarray(seq * per, (seq + 1) * per) });
      seq++;
    }
    await ctx.run(20);
  }
  h.send({
    type: FrameType.PLAY_END,
    stream,
    seq,
    reason: PlayEndReason.COMPLETE,
    lastSeq: (seq - 1) & 0xffff,
    totalSamples: samples.length,
  });
}

/**
 * The reply: one second of pseudo-random samples that are never 128, so that the speaker output with
 * every 128 removed (underrun silence, whose timing depends on the engine) must equal it exactly.
 */
export function replySamples(board: BoardProfile): Uint8Array {
  const out = new Uint8Array(board.sampleRate);
  let a = 12345;
  for (let i = 0; i < out.length; i++) {
    a = (a * 1103515245 + 12345) >>> 0;
    const v = (a >>> 16) & 0xff;
    out[i] = v === 128 ? 129 : v;
  }
  return out;
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'vad-wake',
    mic: true,
    audio: (b) => [silence(b, 1500), speech(b), silence(b, 2500)],
    async run(ctx) {
      await welcomed(ctx);
      await ctx.until(() => ctx.host.utterances().length > 0, 9000);
      await ctx.run(300);
    },
  },
  {
    name: 'tap',
    mic: true,
    audio: (b) => [silence(b, 5000)],
    async run(ctx) {
      await welcomed(ctx);
      // taps at fixed points of the audio timeline (mid-buffer), so that both engines see them in the
      // same mic buffer
      const b = ctx.earbud.board;
      const at = (s: number): number =>
        Math.round((s * b.sampleRate) / b.bufferSamples) * b.bufferSamples + b.bufferSamples / 2;
      ctx.earbud.pressButton(100, at(1.3));
      ctx.earbud.pressButton(100, at(2.1)); // a second tap ends it (END reason TAP), before the silence would
      await ctx.untilSample(at(2.1));
      await ctx.until(() => ctx.host.utterances().length > 0, 6000);
      await ctx.run(300);
    },
  },
  {
    name: 'nack-recovery',
    mic: true,
    audio: (b) => [silence(b, 1500), speech(b), silence(b, 2500)],
    link: { dropRate: 0.05, seed: 42 },
    async run(ctx) {
      await welcomed(ctx);
      await ctx.until(() => ctx.host.utterances().length > 0, 12000);
      await ctx.run(300);
    },
  },
  {
    name: 'reconnect',
    mic: true,
    audio: (b) => [silence(b, 1500), speech(b), silence(b, 2500)],
    async run(ctx) {
      await welcomed(ctx);
      // the link drops 1.2 s into the speech (the pre-roll backlog is sent by then) for ~200 ms
      const b = ctx.earbud.board;
      const at = (s: number): number =>
        Math.round((s * b.sampleRate) / b.bufferSamples) * b.bufferSamples + b.bufferSamples / 2;
      await ctx.untilSample(at(2.7));
      ctx.host.disconnect();
      await ctx.untilSample(at(2.9));
      ctx.host.connect();
      await ctx.until(() => ctx.host.utterances().length > 0, 9000);
      await ctx.run(300);
    },
  },
  {
    name: 'utterance-reply',
    mic: true,
    audio: (b) => [silence(b, 1500), speech(b), silence(b, 4000)],
    async run(ctx) {
      await welcomed(ctx);
      await ctx.until(() => ctx.host.utterances().some((u) => u.complete), 9000);
      const r = replySamples(ctx.earbud.board).subarray(0, ctx.earbud.board.sampleRate / 2);
      await reply(ctx, 9, r);
      await ctx.until(() => ctx.earbud.speakerSamples().filter((v) => v !== 128).length >= r.length, 4000);
      await ctx.run(600);
    },
  },
  {
    name: 'playback',
    audio: (b) => [silence(b, 6000)],
    async run(ctx) {
      await welcomed(ctx);
      await reply(ctx, 9, replySamples(ctx.earbud.board));
      const n = replySamples(ctx.earbud.board).length;
      await ctx.until(() => ctx.earbud.speakerSamples().filter((v) => v !== 128).length >= n, 4000);
      await ctx.run(600);
    },
  },
  {
    name: 'config',
    audio: (b) => [silence(b, 8000)],
    async run(ctx) {
      await welcomed(ctx);
      const h = ctx.host;
      const set = (key: number, value: number[]): void =>
        h.send({
          type: FrameType.CONFIG,
          stream: 0,
          seq: h.nextSeq(),
          op: ConfigOp.SET,
          key,
          value: Uint8Array.from(value),
        });
      const get = (key: number): void =>
        h.send({
          type: FrameType.CONFIG,
          stream: 0,
          seq: h.nextSeq(),
          op: ConfigOp.GET,
          key,
          value: new Uint8Array(0),
        });
      const le = (v: number): number[] => [v & 0xff, v >> 8];
      const rate = ctx.earbud.board.sampleRate;
      const steps: (() => void)[] = [
        () => get(1),
        () => set(1, le(rate + 500)), // a new rate restarts the microphone
        () => set(1, le(3000)), // below 4000: refused
        () => set(2, [60]),
        () => set(2, [3]), // below 17
        () => set(3, le(400)),
        () => set(3, le(60000)), // pre-roll longer than the ring
        () => set(4, le(9000)),
        () => set(4, le(10)),
        () => set(5, le(900)),
        () => set(5, le(9000)),
        () => set(6, [200]),
        () => set(7, [128]),
        () => set(8, [...Buffer.from('Budlink test')]),
        // not printable: a frame the reference encoder refuses to build, written raw
        () =>
          ctx.earbud.write(
            DOWNLINK_UUID,
            Uint8Array.from([FrameType.CONFIG, 0, 0, 0, ConfigOp.SET, 8, 7, 65]),
          ),
        () => set(9, [1]), // unknown key
        () => set(1, le(rate)),
      ];
      for (const s of steps) {
        s();
        await ctx.run(120);
      }
      await ctx.earbud.powerCycle();
      h.hello = null;
      h.connect();
      await welcomed(ctx);
      for (let k = 1; k <= 8; k++) {
        get(k);
        await ctx.run(120);
      }
      await ctx.run(300);
    },
  },
];

/** Fields that depend on timing rather than on the firmware's logic, by frame type (not compared). */
export const TIMING_DEPENDENT = {
  /** every session frame's seq: how many STATUS/HELLO went out first is a matter of wall-clock time */
  seq: 'message seq of session frames',
  HELLO: 'repeats (one per second until WELCOME): consecutive duplicates are dropped',
  STATUS: 'freeVars, uptimeS, drops (re-sends so far) and errors are measurements; overruns must be 0',
  CREDIT:
    'credit counts mid-reply (upTo, freeBytes, playedSamples) depend on when the speaker drained: only the last CREDIT of each reply is compared',
  resends: 're-send order under loss: utterances are compared reassembled, not frame by frame',
};

export interface Transcript {
  scenario: string;
  board: string;
  /** Control frames (session and playback) in order, with the timing-dependent fields removed. */
  control: Record<string, unknown>[];
  /** Complete utterances (END and every frame before it), reassembled: WAKE and END, the audio as hex. */
  utterances: {
    wake: Record<string, unknown>;
    end: Record<string, unknown> | null;
    audio: string;
    complete: boolean;
  }[];
  /** Speaker output without its silence (128): the replies played, whatever the underruns. */
  speaker: string;
}

/** What must be the same on both engines. */
export function transcript(scenario: string, earbud: Earbud, host: SimHost): Transcript {
  const control: Record<string, unknown>[] = [];
  const lastCredit = new Map<number, Record<string, unknown>>();
  for (const f of host.frames) {
    if (f.type === FrameType.WAKE || f.type === FrameType.AUDIO || f.type === FrameType.END) continue;
    const c = { ...f } as Record<string, unknown>;
    delete c.seq;
    if (f.type === FrameType.STATUS) {
      delete c.freeVars;
      delete c.uptimeS;
      delete c.drops;
      delete c.errors;
    }
    if (f.type === FrameType.CREDIT) {
      lastCredit.set(f.stream, c);
      continue;
    }
    const prev = control[control.length - 1];
    if (f.type === FrameType.HELLO && prev && JSON.stringify(prev) === JSON.stringify(c)) continue;
    if (f.type === FrameType.STATUS && prev && JSON.stringify(prev) === JSON.stringify(c)) continue;
    control.push(c);
  }
  for (const c of lastCredit.values()) control.push(c);
  const strip = (x: WakeFrame | EndFrame | null): Record<string, unknown> | null => {
    if (!x) return null;
    const c = { ...x } as Record<string, unknown>;
    delete c.seq;
    return c;
  };
  const spk = earbud.speakerSamples().filter((v) => v !== 128);
  return {
    scenario,
    board: earbud.board.id,
    control,
    utterances: host.utterances().map((u) => ({
      wake: strip(u.wake) ?? {},
      end: strip(u.end),
      audio: Buffer.from(u.audio).toString('hex'),
      complete: u.complete,
    })),
    speaker: Buffer.from(spk).toString('hex'),
  };
}

/**
 * Run one scenario on an earbud already started with `scenario.audio(board)` queued and
 * `scenario.link` as its link options. Returns the host and the transcript.
 */
export async function runScenario(
  scenario: Scenario,
  earbud: Earbud,
): Promise<{ host: SimHost; transcript: Transcript }> {
  const host = new SimHost(earbud, { mtu: 247 });
  const ctx: ScenarioContext = {
    earbud,
    host,
    run: (ms) => host.runFor(ms),
    async until(cond, ms) {
      const end = earbud.now + ms;
      while (!cond()) {
        if (earbud.now >= end) return false;
        await host.runFor(20);
      }
      return true;
    },
    async untilSample(n, ms = 20000) {
      if (!(await ctx.until(() => earbud.micSamples().length >= n, ms)))
        throw new Error(`the microphone did not reach sample ${n} within ${ms} ms`);
    },
  };
  host.connect();
  await scenario.run(ctx);
  return { host, transcript: transcript(scenario.name, earbud, host) };
}
