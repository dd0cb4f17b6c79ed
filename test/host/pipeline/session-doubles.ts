/**
 * Test doubles for the device session and its units: a fake connection that records what the host
 * writes, one whose uplink is readable, a voice service whose replies the test drives, and HELLO.
 */
import { EMPTY, Observable, Subject } from 'rxjs';
import { Codec, FrameType, decodeFrame, type Frame, type HelloFrame } from '@budlink/protocol';
import type { Connection, DisconnectReason, LocalDisconnect } from '@budlink/link';
import type { VoiceEvent, VoiceRequest, VoiceService } from '../../../host/src/voice/types';
import { bytes } from './marbles';

export class FakeConnection implements Connection {
  readonly device = { id: 'AA:BB:CC:DD:EE:01', address: 'AA:BB:CC:DD:EE:01', name: 'fake' };
  readonly payloadSize = 244;
  readonly frames$ = new Subject<Uint8Array>();
  readonly console$ = EMPTY;
  readonly closed$ = new Subject<DisconnectReason>();
  readonly written: Frame[] = [];
  async write(frame: Uint8Array): Promise<void> {
    const r = decodeFrame(frame);
    if (!r.ok) throw new Error(`session wrote a bad frame: ${r.error.message}`);
    this.written.push(r.frame);
  }
  disconnected = false;
  /** The reason the session gave when it disconnected. */
  disconnectedAs: LocalDisconnect | undefined;
  async disconnect(reason: LocalDisconnect = 'local'): Promise<void> {
    this.disconnected = true;
    this.disconnectedAs = reason;
    this.closed$.next(reason);
    this.closed$.complete();
    this.frames$.complete();
  }
  send(frame: Frame): void {
    this.frames$.next(bytes(frame));
  }
  of<T extends Frame['type']>(type: T): Extract<Frame, { type: T }>[] {
    return this.written.filter((f) => f.type === type) as Extract<Frame, { type: T }>[];
  }
  states(): number[] {
    return this.of(FrameType.STATE).map((f) => f.state);
  }
}

/** A connection whose uplink is readable (PROTOCOL.md §1: the current HELLO), as both real links. */
export class ReadableFakeConnection extends FakeConnection {
  reads = 0;
  constructor(private readonly value: () => Promise<Uint8Array>) {
    super();
  }
  readUplink(): Promise<Uint8Array> {
    this.reads++;
    return this.value();
  }
}

/** A voice service whose replies the test drives. */
export class ScriptedVoice implements VoiceService {
  readonly name = 'scripted';
  readonly requests: VoiceRequest[] = [];
  readonly replies: Subject<VoiceEvent>[] = [];
  readonly truncations: [string, number][] = [];
  cancelled = 0;
  respond(request: VoiceRequest): Observable<VoiceEvent> {
    this.requests.push(request);
    const s = new Subject<VoiceEvent>();
    this.replies.push(s);
    return new Observable<VoiceEvent>((sub) => {
      let finished = false;
      const inner = s.subscribe({
        next: (e) => sub.next(e),
        error: (e: unknown) => {
          finished = true;
          sub.error(e);
        },
        complete: () => {
          finished = true;
          sub.complete();
        },
      });
      return () => {
        if (!finished) this.cancelled++;
        inner.unsubscribe();
      };
    });
  }
  async truncate(deviceId: string, heardMs: number): Promise<void> {
    this.truncations.push([deviceId, heardMs]);
  }
  async close(): Promise<void> {}
}

export const hello = (nonce = 1234, protoMajor = 1): HelloFrame => ({
  type: FrameType.HELLO,
  stream: 0,
  seq: 0,
  protoMajor,
  protoMinor: 0,
  capabilities: 0x0f,
  codecs: Codec.PCM_U8,
  sampleRate: 8000,
  maxPayload: 128,
  ringFrames: 64,
  nonce,
  board: 'fake',
});
