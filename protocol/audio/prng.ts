/**
 * mulberry32: the repository's one small seeded generator (uniform in [0, 1)), for noise and fault
 * injection that must come out the same for the same seed: the simulator's link model and hardware
 * random, its test noise, and the bridge's band fill for the offline recogniser.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
