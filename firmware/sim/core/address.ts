/** A stable BLE address per board and seed (random static: the top two bits set). */
export function addressFor(board: string, seed: number): string {
  let h = 2166136261 ^ seed;
  for (let i = 0; i < board.length; i++) h = Math.imul(h ^ board.charCodeAt(i), 16777619);
  const bytes = [
    0xc0 | ((h >>> 24) & 0x3f),
    (h >>> 16) & 0xff,
    (h >>> 8) & 0xff,
    h & 0xff,
    (seed >>> 8) & 0xff,
    seed & 0xff,
  ];
  return bytes.map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join(':');
}
