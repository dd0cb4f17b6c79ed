/**
 * Operator: GATT notification bytes -> decoded frames. Bytes that do not decode are reported to
 * `onError` (with the typed ProtocolError and the offending bytes, for the log) and never passed
 * downstream as data; the stream goes on with the next notification. `maxPayload()` is the longest
 * frame accepted (PROTOCOL.md §2: after WELCOME, the negotiated payload size; undefined: MAX_PAYLOAD),
 * read per frame; a longer one is refused as TOO_LONG.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { decodeFrame, type Frame, type ProtocolError } from '@budlink/protocol';

export function deframe(
  onError: (error: ProtocolError, bytes: Uint8Array) => void,
  maxPayload: () => number | undefined = () => undefined,
): OperatorFunction<Uint8Array, Frame> {
  return (source) =>
    new Observable<Frame>((subscriber) =>
      source.subscribe({
        next: (bytes) => {
          const result = decodeFrame(bytes, maxPayload());
          if (result.ok) subscriber.next(result.frame);
          else onError(result.error, bytes);
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      }),
    );
}
