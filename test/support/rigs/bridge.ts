/**
 * The bridge's end-to-end rig (test/e2e/bridge/): simulated earbuds (real firmware bundle, device
 * clock ×SPEED) ↔ BlueZ emulator ↔ private dbus-daemon ↔ node-ble ↔ Bridge ↔ a test voice service
 * that records what it heard and answers with a short tone, which must come out of the earbud's speaker.
 */
import { Observable, filter, firstValueFrom, take, timeout, toArray } from 'rxjs';
import { createEarbud, type LinkModelOptions, type SimulatedEarbud } from '@budlink/sim';
import { decodeFrame, type Frame } from '@budlink/protocol';
import type { Connection, Link } from '@budlink/link';
import { Bridge, type BridgeEvent } from '../../../host/src/bridge/index';
import { startSimEnv, type SimEnv, type SimTransport } from '../../../host/src/bridge/simenv';
import { DEFAULT_UTTERANCE } from '../../../host/src/cli/demo';
import type { UtteranceReport } from '../../../host/src/pipeline/types';
import type { VoiceEvent, VoiceRequest, VoiceService } from '../../../host/src/voice/types';

export const SPEED = 4;
export const UTTERANCE_WAV = DEFAULT_UTTERANCE;
/** Reply: 0.3 s of 440 Hz at 24 kHz (900 samples at the earbud's 8 kHz... x 8/3 = 2400). */
export const REPLY_RATE = 24000;
export const REPLY_SAMPLES = 7200;

export class ToneVoiceService implements VoiceService {
  readonly name = 'tone';
  readonly requests: VoiceRequest[] = [];
  readonly truncations: { deviceId: string; heardMs: number }[] = [];

  constructor(private readonly samples = REPLY_SAMPLES) {}

  respond(request: VoiceRequest): Observable<VoiceEvent> {
    this.requests.push(request);
    return new Observable<VoiceEvent>((sub) => {
      const t = setTimeout(() => {
        const pcm = new Int16Array(this.samples);
        for (let i = 0; i < pcm.length; i++)
          pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / REPLY_RATE));
        sub.next({ kind: 'transcript', role: 'assistant', text: 'a tone', final: true });
        const half = Math.floor(pcm.length / 2);
        sub.next({ kind: 'audio', pcm: pcm.subarray(0, half), sampleRate: REPLY_RATE });
        sub.next({ kind: 'audio', pcm: pcm.subarray(half), sampleRate: REPLY_RATE });
        sub.next({ kind: 'done' });
        sub.complete();
      }, 5);
      return () => clearTimeout(t);
    });
  }

  async truncate(deviceId: string, heardMs: number): Promise<void> {
    this.truncations.push({ deviceId, heardMs });
  }

  async close(): Promise<void> {}
}

/** A frame as it crossed the link, with the host time (performance.now()) it did. */
export interface SeenFrame {
  at: number;
  deviceId: string;
  frame: Frame;
}

/**
 * The Link the bridge uses, recording every frame it writes to an earbud (decoded), so tests can
 * check what the earbud was told (STATE, PLAY_END...). Everything else is the wrapped link's.
 */
export class RecordingLink implements Link {
  readonly written: SeenFrame[] = [];
  constructor(private readonly inner: Link) {}

  get kind(): Link['kind'] {
    return this.inner.kind;
  }

  scan(options: Parameters<Link['scan']>[0]): ReturnType<Link['scan']> {
    return this.inner.scan(options);
  }

  async connect(deviceId: string, options?: { timeoutMs?: number }): Promise<Connection> {
    const c = await this.inner.connect(deviceId, options);
    const written = this.written;
    return {
      device: c.device,
      payloadSize: c.payloadSize,
      frames$: c.frames$,
      console$: c.console$,
      closed$: c.closed$,
      disconnect: () => c.disconnect(),
      ...(c.readUplink ? { readUplink: () => (c.readUplink as () => Promise<Uint8Array>)() } : {}),
      write: async (bytes: Uint8Array) => {
        await c.write(bytes);
        const r = decodeFrame(bytes);
        if (r.ok) written.push({ at: performance.now(), deviceId, frame: r.frame });
      },
    };
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export interface Rig {
  env: SimEnv<SimulatedEarbud>;
  bridge: Bridge;
  voice: ToneVoiceService;
  /** The voice service the bridge relays to (`voice` unless startRig was given another). */
  service: VoiceService;
  /** Frames the bridge wrote to the earbuds, decoded, in order. */
  written: SeenFrame[];
  /** Frames that arrived from the earbuds (any of them), decoded, in order (the session's hook). */
  uplink: { at: number; frame: Frame }[];
  events: BridgeEvent[];
  reports: UtteranceReport[];
  /** Silence, the bundled utterance, then silence for the hangover. */
  speak(earbud?: number): void;
  /** Resolves with the next `n` utterance reports (after the ones already seen when called). */
  nextReports(n: number, ms?: number): Promise<UtteranceReport[]>;
  /** Resolves when `n` more HELLOs (sessions) have happened. */
  nextHellos(n: number, ms?: number): Promise<void>;
  /** Non-silent samples out of an earbud's speaker. */
  heard(earbud?: number): number;
  close(): Promise<void>;
}

export async function startRig(options: {
  earbuds?: number;
  link?: LinkModelOptions;
  transport?: SimTransport;
  /** Reply length in samples at 24 kHz (default REPLY_SAMPLES). */
  replySamples?: number;
  /** Relay to this service instead of the tone service (the rig does not close it). */
  service?: VoiceService;
}): Promise<Rig> {
  const n = options.earbuds ?? 1;
  const env = await startSimEnv({
    earbuds: Array.from({ length: n }, (_, i) => ({
      engine: 'vm' as const,
      board: 'nrf52840dk',
      clock: 'real' as const,
      speed: SPEED,
      // the bridge is under test, not the device's real-time capacity (a bench figure): an earbud
      // whose CPU keeps up even while it re-sends 10% of its frames
      cpuSpeed: 10,
      link: { seed: i + 1, ...options.link },
    })),
    create: (o) => createEarbud(o),
    transport: options.transport ?? 'bluez',
    connectTimeoutMs: 5000,
  });
  const voice = new ToneVoiceService(options.replySamples);
  const service = options.service ?? voice;
  const link = new RecordingLink(env.link);
  const uplink: { at: number; frame: Frame }[] = [];
  const bridge = new Bridge({
    link,
    voice: service,
    hooks: {
      uplinkFrame: (frame, at) => {
        uplink.push({ at, frame });
      },
    },
    reconnect: { initialDelayMs: 50, maxDelayMs: 500, connectTimeoutMs: 5000 },
    session: { keepAliveMs: 1000, keepAliveTimeoutMs: 4000, nackIntervalMs: 100 },
  });
  const events: BridgeEvent[] = [];
  const reports: UtteranceReport[] = [];
  bridge.events$.subscribe((e) => {
    events.push(e);
    if (e.kind === 'utterance') reports.push(e.report);
  });
  const hellos = (k: number, ms: number): Promise<void> =>
    firstValueFrom(
      bridge.events$.pipe(
        filter((e) => e.kind === 'hello'),
        take(k),
        toArray(),
        timeout({ first: ms }),
      ),
    ).then(() => undefined);
  const ready = hellos(n, 15000);
  for (const e of env.earbuds) bridge.addDevice(e.address);
  try {
    await ready;
  } catch (e) {
    await bridge.stop();
    await env.close();
    throw e;
  }
  return {
    env,
    bridge,
    voice,
    service,
    written: link.written,
    uplink,
    events,
    reports,
    speak(i = 0) {
      const e = env.earbuds[i];
      if (!e) throw new Error(`no earbud ${i}`);
      e.feedSilence(600);
      e.feedWav(UTTERANCE_WAV);
      e.feedSilence(2000);
    },
    nextReports(k, ms = 20000) {
      return firstValueFrom(
        bridge.events$.pipe(
          filter((e): e is Extract<BridgeEvent, { kind: 'utterance' }> => e.kind === 'utterance'),
          take(k),
          toArray(),
          timeout({ first: ms }),
        ),
      ).then((es) => es.map((e) => e.report));
    },
    nextHellos: (k, ms = 15000) => hellos(k, ms),
    heard(i = 0) {
      const e = env.earbuds[i];
      if (!e) return 0;
      let c = 0;
      for (const s of e.speakerSamples()) if (s < 118 || s > 138) c++;
      return c;
    },
    async close() {
      await bridge.stop();
      await env.close();
    },
  };
}
