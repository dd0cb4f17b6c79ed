/**
 * The voice-quality bench's scoring: word error rate and the bigram ARPA model it hands pocketsphinx.
 */
import { expect } from 'chai';
import { bigramArpa, corpusWer, wordErrors, words } from './speech-score';

describe('support: speech scoring', () => {
  it('counts substitutions, deletions and insertions between word sequences', () => {
    expect(words("What's the TIME, please?")).to.deep.equal(["what's", 'the', 'time', 'please']);
    expect(wordErrors(['a', 'b', 'c'], ['a', 'b', 'c'])).to.equal(0);
    expect(wordErrors(['a', 'b', 'c'], ['a', 'x', 'c'])).to.equal(1);
    expect(wordErrors(['a', 'b', 'c'], ['a', 'c'])).to.equal(1);
    expect(wordErrors(['a', 'b', 'c'], ['a', 'b', 'c', 'd', 'e'])).to.equal(2);
    expect(wordErrors(['a', 'b'], [])).to.equal(2);
    expect(wordErrors([], ['a'])).to.equal(1);
  });

  it('pools errors over the corpus (not a mean of sentence rates)', () => {
    const wer = corpusWer([
      { reference: 'one two three four', hypothesis: 'one two three four' },
      { reference: 'five', hypothesis: '' },
    ]);
    expect(wer).to.equal(1 / 5);
    expect(corpusWer([])).to.equal(0);
  });

  it('writes a bigram ARPA model whose probabilities sum to one from every context', () => {
    const arpa = bigramArpa(['turn on the light', 'turn off the light', 'the light is on']);
    const lines = arpa.split('\n');
    expect(lines[0]).to.equal('\\data\\');
    expect(lines).to.include('\\end\\');
    const uni = new Map<string, { p: number; bow: number }>();
    const bi = new Map<string, Map<string, number>>();
    let section = '';
    for (const l of lines) {
      if (l.startsWith('\\')) section = l;
      else if (l !== '' && section === '\\1-grams:') {
        const [p, w, bow] = l.split(' ');
        uni.set(w as string, { p: 10 ** Number(p), bow: bow === undefined ? 1 : 10 ** Number(bow) });
      } else if (l !== '' && section === '\\2-grams:') {
        const [p, v, w] = l.split(' ');
        if (!bi.has(v as string)) bi.set(v as string, new Map());
        bi.get(v as string)?.set(w as string, 10 ** Number(p));
      }
    }
    expect(arpa).to.include(`ngram 1=${uni.size}`);
    const vocab = [...uni.keys()].filter((w) => w !== '<s>');
    let total = 0;
    for (const w of vocab) total += uni.get(w)?.p ?? 0;
    expect(total).to.be.closeTo(1, 1e-5);
    // P(w | v) = bigram if seen, else bow(v) · P(w): a distribution for every context.
    for (const v of ['<s>', ...vocab.filter((w) => w !== '</s>')]) {
      let sum = 0;
      for (const w of vocab) sum += bi.get(v)?.get(w) ?? (uni.get(v)?.bow ?? 1) * (uni.get(w)?.p ?? 0);
      expect(sum, `context ${v}`).to.be.closeTo(1, 1e-4);
    }
  });
});
