/** The simulator's seeded PRNG (mulberry32), so fuzz and property runs are reproducible. */
export { mulberry32 as rng } from '@budlink/sim';

/** Integer in 0..n-1. */
export function below(r: () => number, n: number): number {
  return Math.floor(r() * n);
}
