/**
 * Splits streamed chat text into speakable sentences as soon as each one is complete, so speech
 * synthesis can start while the model is still writing ("speak while thinking").
 * A sentence ends at . ! ? … ; followed by whitespace, at CJK 。！？ (no space needed), or at a
 * newline. Pieces shorter than minChars are held and joined to the next one (so "Hi." and "Dr."
 * do not become separate synthesis requests); a decimal point ("3.5") is not an end because no
 * whitespace follows it. Markdown emphasis and list markers are stripped from the spoken text.
 */

const END_WITH_SPACE = /[.!?…;](?=["'”’)\]]*\s)["'”’)\]]*\s+/g;
const END_CJK = /[。！？](?=.)/gu;

export class SentenceSplitter {
  private buf = '';
  private readonly minChars: number;

  constructor(options: { minChars?: number } = {}) {
    this.minChars = options.minChars ?? 12;
  }

  /** Add streamed text; returns sentences completed by it (in order). */
  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    for (;;) {
      const cut = this.findCut();
      if (cut < 0) break;
      const piece = this.buf.slice(0, cut);
      this.buf = this.buf.slice(cut);
      const s = speakable(piece);
      if (s) out.push(s);
    }
    return out;
  }

  /** End of the text: whatever is left is the last sentence. */
  end(): string[] {
    const s = speakable(this.buf);
    this.buf = '';
    return s ? [s] : [];
  }

  /** Index just after the first acceptable sentence end, or -1. */
  private findCut(): number {
    const b = this.buf;
    const candidates: Array<{ at: number; min: number }> = [];
    const nl = b.indexOf('\n');
    if (nl >= 0) candidates.push({ at: nl + 1, min: 0 });
    END_WITH_SPACE.lastIndex = 0;
    for (let m = END_WITH_SPACE.exec(b); m; m = END_WITH_SPACE.exec(b)) {
      candidates.push({ at: m.index + m[0].length, min: this.minChars });
    }
    END_CJK.lastIndex = 0;
    for (let m = END_CJK.exec(b); m; m = END_CJK.exec(b))
      candidates.push({ at: m.index + m[0].length, min: 4 });
    candidates.sort((x, y) => x.at - y.at);
    for (const c of candidates) {
      if (speakable(b.slice(0, c.at)).length >= c.min) return c.at;
    }
    return -1;
  }
}

/** Text as it should be spoken: markdown markers removed, whitespace collapsed. */
export function speakable(text: string): string {
  return text
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/^\s*(?:[-*+•]|\d+[.)]|#{1,6})\s+/gm, '')
    .replace(/[*_`#]+/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}
