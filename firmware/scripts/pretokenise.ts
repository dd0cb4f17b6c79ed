/**
 * Pretokenise a minified bundle for Espruino, as the Espruino IDE's "pretokenise" upload option does
 * (written here from the interpreter's lexer, src/jslex.h / jslex.c): the device executes straight from
 * the source text and lexes every statement each time it runs, so the bundle it stores is made of the
 * tokens its lexer would produce anyway, each in one byte:
 *
 * - reserved words and multi-character operators → their token number (≥ 138, jslex.h LEX_TYPES);
 * - strings of 8-bit characters → LEX_RAW_STRING8/16, length, raw bytes (no escapes to decode);
 * - integer literals 0..32767 → LEX_RAW_INT0/8/16 (no digits to parse);
 * - whitespace only where two untokenised words or operators would otherwise run together.
 *
 * Only what the device lexer itself turns into a token is replaced, so the token stream it reads is the
 * same as from the plain text. Names in property position (`a.if`, `{if: 1}`, a method named `if`) stay
 * text: the interpreter reads their spelling. Template literals and regular expressions stay text.
 *
 * The output is a binary string (one character per byte, 0..255): write it as latin1.
 */
import { tokenizer, type Token } from 'acorn';
import { propertyKeyNodes } from './ast';

/** acorn's tokens carry their value at run time; its type declarations leave it out. */
const valueOf = (t: Token): unknown => (t as Token & { value?: unknown }).value;

/** Token number of the first entry of TOKENS (jslex.h: _LEX_TOKENS_START = LEX_EQUAL). */
export const LEX_TOKENS_START = 138;

/**
 * jslex.h LEX_TYPES from _LEX_TOKENS_START, in order (the list the interpreter keeps stable for
 * pretokenised code): operators 1, the arrow, reserved words; then, after 10 spare numbers, `??`.
 */
export const TOKENS = [
  '==',
  '===',
  '!=',
  '!==',
  '<=',
  '<<',
  '<<=',
  '>=',
  '>>',
  '>>>',
  '>>=',
  '>>>=',
  '+=',
  '-=',
  '++',
  '--',
  '*=',
  '/=',
  '%=',
  '&=',
  '&&',
  '|=',
  '||',
  '^=',
  '=>',
  'if',
  'else',
  'do',
  'while',
  'for',
  'break',
  'continue',
  'function',
  'return',
  'var',
  'let',
  'const',
  'this',
  'throw',
  'try',
  'catch',
  'finally',
  'true',
  'false',
  'null',
  'undefined',
  'new',
  'in',
  'instanceof',
  'switch',
  'case',
  'default',
  'delete',
  'typeof',
  'void',
  'debugger',
  'class',
  'extends',
  'super',
  'static',
  'of',
];

/** LEX_NULLISH: `??` (_LEX_R_LIST_END + 10). */
export const LEX_NULLISH = LEX_TOKENS_START + TOKENS.length - 1 + 10;
export const LEX_RAW_STRING8 = LEX_NULLISH + 1;
export const LEX_RAW_STRING16 = LEX_NULLISH + 2;
export const LEX_RAW_INT0 = LEX_NULLISH + 3;
export const LEX_RAW_INT8 = LEX_NULLISH + 4;
export const LEX_RAW_INT16 = LEX_NULLISH + 5;

const TOKEN_OF = new Map<string, number>(TOKENS.map((t, i) => [t, LEX_TOKENS_START + i]));
TOKEN_OF.set('??', LEX_NULLISH);

/** Start offsets of names in property position (member names, object keys, class members). */
function propertyNamePositions(code: string): Set<number> {
  return new Set(propertyKeyNodes(code).map((k) => k.start));
}

const WORD = /[A-Za-z0-9_$]/;

/** Would `a` followed directly by `b` (both untokenised text) lex differently than with a space? */
function needsSpace(a: string, b: string): boolean {
  const x = a[a.length - 1] as string;
  const y = b[0] as string;
  if (WORD.test(x) && WORD.test(y)) return true;
  if ((x === '+' || x === '-') && y === x) return true; // a+ +b, a- -b
  if (x === '/' && (y === '/' || y === '*')) return true; // a comment
  if (/[0-9]/.test(x) && y === '.') return true; // 1 .toString()
  return false;
}

/** The pretokenised form of `code` (a binary string: write it as latin1). */
export function pretokenise(code: string): string {
  const keys = propertyNamePositions(code);
  // Each piece: its text, and whether it is a token byte sequence (self-delimiting).
  const pieces: { text: string; byte: boolean }[] = [];
  const tk = tokenizer(code, { ecmaVersion: 2020 });
  for (;;) {
    const t = tk.getToken();
    const label = t.type.label;
    if (label === 'eof') break;
    if (label === '`') {
      // A template literal: keep its whole text (with any ${...} inside) as it is.
      let depth = 0;
      let end: number;
      for (;;) {
        const u = tk.getToken();
        const l = u.type.label;
        if (l === 'eof') throw new Error('pretokenise: unterminated template literal at ' + t.start);
        if (l === '${' || l === '{') depth++;
        else if (l === '}') depth--;
        end = u.end;
        if (l === '`' && depth === 0) break;
      }
      pieces.push({ text: code.slice(t.start, end), byte: false });
      continue;
    }
    const raw = code.slice(t.start, t.end);
    if (label === 'string') {
      const s = valueOf(t) as string;
      let eightBit = true;
      for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 255) eightBit = false;
      if (!eightBit || s.length === 0 || s.length > 0xffff) pieces.push({ text: raw, byte: false });
      else if (s.length < 256)
        pieces.push({ text: String.fromCharCode(LEX_RAW_STRING8, s.length) + s, byte: true });
      else
        pieces.push({
          text: String.fromCharCode(LEX_RAW_STRING16, s.length & 255, s.length >> 8) + s,
          byte: true,
        });
      continue;
    }
    if (label === 'num') {
      const v = valueOf(t) as number;
      if (!Number.isInteger(v) || v < 0 || v > 32767 || Object.is(v, -0))
        pieces.push({ text: raw, byte: false });
      else if (v === 0) pieces.push({ text: String.fromCharCode(LEX_RAW_INT0), byte: true });
      else if (v < 128) pieces.push({ text: String.fromCharCode(LEX_RAW_INT8, v), byte: true });
      else pieces.push({ text: String.fromCharCode(LEX_RAW_INT16, v & 255, v >> 8), byte: true });
      continue;
    }
    const isWord = label === 'name' || t.type.keyword !== undefined;
    const id = TOKEN_OF.get(raw);
    if (id !== undefined && (!isWord || !keys.has(t.start)) && label !== 'regexp' && label !== 'template')
      pieces.push({ text: String.fromCharCode(id), byte: true });
    else pieces.push({ text: raw, byte: false });
  }
  let out = '';
  let prev: { text: string; byte: boolean } | null = null;
  for (const p of pieces) {
    if (prev && !prev.byte && !p.byte && needsSpace(prev.text, p.text)) out += ' ';
    out += p.text;
    prev = p;
  }
  return out;
}

/**
 * The text of pretokenised `code` (tokens spelt out, strings and integers as literals): for checks and
 * for reading what the device runs.
 */
export function detokenise(code: string): string {
  let out = '';
  let last = '';
  const emit = (s: string): void => {
    if (last && needsSpace(last, s)) out += ' ';
    out += s;
    last = s;
  };
  for (let i = 0; i < code.length;) {
    const c = code.charCodeAt(i);
    if (c === LEX_RAW_STRING8 || c === LEX_RAW_STRING16) {
      const n =
        c === LEX_RAW_STRING8
          ? code.charCodeAt(i + 1)
          : code.charCodeAt(i + 1) | (code.charCodeAt(i + 2) << 8);
      const at = i + (c === LEX_RAW_STRING8 ? 2 : 3);
      emit(JSON.stringify(code.slice(at, at + n)));
      i = at + n;
    } else if (c === LEX_RAW_INT0) {
      emit('0');
      i++;
    } else if (c === LEX_RAW_INT8) {
      emit(String(code.charCodeAt(i + 1)));
      i += 2;
    } else if (c === LEX_RAW_INT16) {
      emit(String(code.charCodeAt(i + 1) | (code.charCodeAt(i + 2) << 8)));
      i += 3;
    } else if (c >= LEX_TOKENS_START) {
      const name = c === LEX_NULLISH ? '??' : TOKENS[c - LEX_TOKENS_START];
      if (name === undefined) throw new Error('detokenise: unknown token ' + c + ' at ' + i);
      emit(name);
      i++;
    } else {
      // a run of plain text up to the next token byte
      let j = i;
      while (j < code.length && code.charCodeAt(j) < 128) j++;
      const s = code.slice(i, j);
      if (last && needsSpace(last, s)) out += ' ';
      out += s;
      last = s;
      i = j;
    }
  }
  return out;
}

/** The token stream of `code` as acorn reads it: [kind, value] per token. */
function tokenStream(code: string): string[] {
  const out: string[] = [];
  for (const t of tokenizer(code, { ecmaVersion: 2020 })) {
    const v =
      t.type.label === 'num' || t.type.label === 'string' ? String(valueOf(t)) : code.slice(t.start, t.end);
    out.push(t.type.label + ' ' + v);
  }
  return out;
}

/** True when pretokenised `tok` reads back as the same tokens (and values) as `code`. */
export function readsBackAs(tok: string, code: string): boolean {
  const a = tokenStream(detokenise(tok));
  const b = tokenStream(code);
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
