/** Branches whose coverage test/fuzz/coverage.test.ts knows (see the calls there). */
export function classify(n: number): string {
  if (n < 0) return 'negative';
  const size = n > 100 ? 'big' : 'small';
  const named = (n === 7 && 'seven') || size;
  switch (n) {
    case 1:
      return 'one';
    case 2:
      return 'two';
    default:
      return named;
  }
}

export function unused(x: boolean): number {
  return x ? 1 : 2;
}
