/**
 * The session's writer to the device: frames go out in order on the current connection, control
 * frames stamped with their own sequence number (PLAY / PLAY_END carry the reply's), encoded for the
 * negotiated payload size. A write still queued when its connection is replaced is dropped; failed
 * writes are logged (once, then every 100th: a dying link fails every queued write).
 */
import { FrameType, encodeFrame, frameTypeName, type Frame } from '@budlink/protocol';
import type { Connection } from '@budlink/link';
import { errorText } from './error-text';
import type { DeviceLog } from './types';

export interface DownlinkOptions {
  /** The negotiated payload size, undefined before the first WELCOME (then the link's is used). */
  payloadSize: () => number | undefined;
  log: DeviceLog;
}

export class Downlink {
  private conn: Connection | undefined;
  private chain: Promise<void> = Promise.resolve();
  private failures = 0;
  private controlSeq = 0;

  constructor(private readonly options: DownlinkOptions) {}

  /** The connection frames go to (undefined between connections). */
  get connection(): Connection | undefined {
    return this.conn;
  }

  /** Write to `c` from now on (a fresh write queue). */
  attach(c: Connection): void {
    this.conn = c;
    this.chain = Promise.resolve();
    this.failures = 0;
  }

  /** Stop writing to `c`; false when `c` is not the current connection. */
  detach(c: Connection): boolean {
    if (this.conn !== c) return false;
    this.conn = undefined;
    return true;
  }

  send(frame: Frame): void {
    const c = this.conn;
    if (!c) return;
    const isStreamFrame = frame.type === FrameType.PLAY || frame.type === FrameType.PLAY_END;
    const stamped: Frame = isStreamFrame ? frame : { ...frame, seq: this.controlSeq };
    if (!isStreamFrame) this.controlSeq = (this.controlSeq + 1) & 0xffff;
    const encoded = encodeFrame(stamped, this.options.payloadSize() ?? c.payloadSize);
    if (!encoded.ok) {
      this.options.log('error', `bug: cannot encode ${frameTypeName(frame.type)}: ${encoded.error.message}`);
      return;
    }
    this.chain = this.chain
      .then(() => (this.conn === c ? c.write(encoded.bytes) : undefined))
      .catch((e: unknown) => {
        if (this.failures++ % 100 === 0) {
          this.options.log(
            'warn',
            `write of ${frameTypeName(frame.type)} failed: ${errorText(e)} (${this.failures} so far)`,
          );
        }
      });
  }

  /** Disconnect `c` once every frame queued so far is written. */
  disconnectAfterWrites(c: Connection): void {
    void this.chain.then(() => c.disconnect()).catch(() => undefined);
  }
}
