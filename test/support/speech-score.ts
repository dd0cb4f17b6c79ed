/**
 * Scoring recognised speech for bench/voice-quality.bench.ts: word error rate, and the bigram language
 * model (ARPA text) the bench gives pocketsphinx, built here from the corpus sentences because Debian
 * ships no LM builder (sphinxbase-utils converts and evaluates LMs, it does not estimate them).
 */

/** Lower-case words, punctuation dropped (apostrophes kept: "didn't"). */
export function words(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9' ]+/g, ' ')
    .split(/\s+/)
    .filter((w) => w !== '');
}

/** Word-level edit distance (substitutions + deletions + insertions) between reference and hypothesis. */
export function wordErrors(reference: readonly string[], hypothesis: readonly string[]): number {
  let prev = Array.from({ length: hypothesis.length + 1 }, (_, j) => j);
  for (let i = 1; i <= reference.length; i++) {
    const cur = [i];
    for (let j = 1; j <= hypothesis.length; j++) {
      const sub = (prev[j - 1] as number) + (reference[i - 1] === hypothesis[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] as number) + 1, (cur[j - 1] as number) + 1));
    }
    prev = cur;
  }
  return prev[hypothesis.length] as number;
}

/** Corpus WER: all errors over all reference words (not a mean of per-sentence rates). */
export function corpusWer(pairs: readonly { reference: string; hypothesis: string }[]): number {
  let errors = 0;
  let total = 0;
  for (const p of pairs) {
    const r = words(p.reference);
    errors += wordErrors(r, words(p.hypothesis));
    total += r.length;
  }
  return total === 0 ? 0 : errors / total;
}

/**
 * A bigram model of `sentences` in ARPA text format: maximum-likelihood unigrams over the words and
 * </s>; bigrams (with <s> and </s>) by absolute discounting (D = 0.5), the freed mass backing off to
 * the unigrams with Katz-style normalised back-off weights. Closed vocabulary: the corpus's words.
 */
export function bigramArpa(sentences: readonly string[], discount = 0.5): string {
  const uni = new Map<string, number>();
  const bi = new Map<string, Map<string, number>>();
  const ctx = new Map<string, number>();
  let tokens = 0;
  for (const s of sentences) {
    const seq = ['<s>', ...words(s), '</s>'];
    for (let i = 1; i < seq.length; i++) {
      const v = seq[i - 1] as string;
      const w = seq[i] as string;
      uni.set(w, (uni.get(w) ?? 0) + 1);
      tokens++;
      ctx.set(v, (ctx.get(v) ?? 0) + 1);
      let m = bi.get(v);
      if (!m) bi.set(v, (m = new Map()));
      m.set(w, (m.get(w) ?? 0) + 1);
    }
  }
  const pUni = (w: string): number => (uni.get(w) ?? 0) / tokens;
  const log = (p: number): string => Math.log10(p).toFixed(6);
  const vocab = [...uni.keys()].sort();
  const uniLines: string[] = [];
  const biLines: string[] = [];
  const bow = (v: string): number => {
    const m = bi.get(v);
    const c = ctx.get(v);
    if (!m || !c) return 1;
    const freed = (discount * m.size) / c;
    let covered = 0;
    for (const w of m.keys()) covered += pUni(w);
    return freed / (1 - covered);
  };
  uniLines.push(`-99.000000 <s> ${log(bow('<s>'))}`);
  for (const w of vocab) {
    uniLines.push(w === '</s>' ? `${log(pUni(w))} </s>` : `${log(pUni(w))} ${w} ${log(bow(w))}`);
  }
  for (const v of ['<s>', ...vocab]) {
    const m = bi.get(v);
    const c = ctx.get(v);
    if (!m || !c) continue;
    for (const w of [...m.keys()].sort())
      biLines.push(`${log(((m.get(w) as number) - discount) / c)} ${v} ${w}`);
  }
  return [
    '\\data\\',
    `ngram 1=${uniLines.length}`,
    `ngram 2=${biLines.length}`,
    '',
    '\\1-grams:',
    ...uniLines,
    '',
    '\\2-grams:',
    ...biLines,
    '',
    '\\end\\',
    '',
  ].join('\n');
}
