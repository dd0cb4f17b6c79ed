/**
 * 16-bit sequence number arithmetic (docs/PROTOCOL.md §Sequence numbers). Sequence numbers wrap at
 * 65536; two numbers are compared by their signed distance, so any two numbers less than 32768 apart
 * order correctly across the wrap.
 */

/** `a + n` modulo 65536 (`n` may be negative). */
export function seqAdd(a: number, n: number): number {
  return (a + n) & 0xffff;
}

/** Signed distance from `b` to `a` (`a - b` modulo 65536) in -32768..32767. */
export function seqDiff(a: number, b: number): number {
  const d = (a - b) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}

/** True when `a` comes before `b` in wrap-around order. */
export function seqLess(a: number, b: number): boolean {
  return seqDiff(a, b) < 0;
}
