/**
 * Operator: byte chunks of any size -> payloads of exactly `maxBytes` (rounded down to whole
 * samples), the last one shorter, emitted when the source completes. Never splits a sample.
 */
import { Observable, type OperatorFunction } from 'rxjs';

export function packetize(maxBytes: number, sampleBytes = 1): OperatorFunction<Uint8Array, Uint8Array> {
  const size = Math.floor(maxBytes / sampleBytes) * sampleBytes;
  if (size <= 0)
    throw new RangeError(`packetize: ${maxBytes} bytes cannot hold one ${sampleBytes}-byte sample`);
  return (source) =>
    new Observable<Uint8Array>((subscriber) => {
      let pending = new Uint8Array(size);
      let fill = 0;
      return source.subscribe({
        next: (chunk) => {
          let offset = 0;
          while (offset < chunk.length) {
            const n = Math.min(size - fill, chunk.length - offset);
            pending.set(chunk.subarray(offset, offset + n), fill);
            fill += n;
            offset += n;
            if (fill === size) {
              const full = pending;
              pending = new Uint8Array(size);
              fill = 0;
              subscriber.next(full);
            }
          }
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => {
          const whole = fill - (fill % sampleBytes);
          if (whole > 0) subscriber.next(pending.slice(0, whole));
          subscriber.complete();
        },
      });
    });
}
