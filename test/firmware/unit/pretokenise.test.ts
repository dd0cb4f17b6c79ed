import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LEX_NULLISH,
  LEX_RAW_INT0,
  LEX_RAW_INT16,
  LEX_RAW_INT8,
  LEX_RAW_STRING8,
  LEX_TOKENS_START,
  TOKENS,
  detokenise,
  pretokenise,
  readsBackAs,
} from '../../../firmware/scripts/pretokenise';
import { storageUploadLines } from '../../../firmware/sim/espruino/flash';

const tok = (s: string): number => {
  const i = TOKENS.indexOf(s);
  if (i < 0) throw new Error('no token ' + s);
  return LEX_TOKENS_START + i;
};
const bytes = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

describe('firmware build: pretokenising for Espruino', () => {
  it('numbers tokens as the interpreter does (jslex.h), checked against its source when built', function () {
    expect(tok('==')).to.equal(138);
    expect(tok('=>')).to.equal(162);
    expect(tok('if')).to.equal(163);
    expect(tok('of')).to.equal(198);
    expect([LEX_NULLISH, LEX_RAW_STRING8, LEX_RAW_INT0, LEX_RAW_INT8, LEX_RAW_INT16]).to.deep.equal([
      208, 0xd1, 0xd3, 0xd4, 0xd5,
    ]);
    const jslex = join(import.meta.dirname, '..', '..', '..', '.cache', 'espruino', 'tree', 'src', 'jslex.c');
    if (!existsSync(jslex)) this.skip();
    // jslReservedWordAsString: the names of tokens from _LEX_TOKENS_START, "\0"-separated, in order.
    const src = readFileSync(jslex, 'utf8');
    const body = /static const char tokenNames\[\] =([\s\S]*?);/.exec(src);
    expect(body, 'tokenNames in jslex.c').to.not.equal(null);
    const names = [...(body![1] as string).matchAll(/"((?:[^"\\]|\\.)*)"/g)]
      .map((m) => m[1] as string)
      .join('')
      .split('\\0');
    expect(names.slice(0, TOKENS.length)).to.deep.equal(TOKENS);
    expect(names[LEX_NULLISH - LEX_TOKENS_START]).to.equal('??');
  });

  it('replaces reserved words, operators, strings and small integers by their tokens', () => {
    const code = 'function f(a){if(a>=10&&a!==300)return"ok";return this.x=0,typeof a}';
    const t = pretokenise(code);
    expect(bytes(t)).to.deep.equal([
      tok('function'),
      ...bytes('f(a){'),
      tok('if'),
      ...bytes('(a'),
      tok('>='),
      LEX_RAW_INT8,
      10,
      tok('&&'),
      ...bytes('a'),
      tok('!=='),
      LEX_RAW_INT16,
      300 & 255,
      300 >> 8,
      ...bytes(')'),
      tok('return'),
      LEX_RAW_STRING8,
      2,
      ...bytes('ok;'),
      tok('return'),
      tok('this'),
      ...bytes('.x='),
      LEX_RAW_INT0,
      ...bytes(','),
      tok('typeof'),
      ...bytes('a}'),
    ]);
    expect(readsBackAs(t, code)).to.equal(true);
  });

  it('keeps names in property position, floats, large or negative numbers and templates as text', () => {
    const code =
      'var o={if:1,delete(){return 1.5},catch(f){return{}}};o.catch(x=>x).in=-4e9;var s=`a${o.if}`;class C{static(){return 40000}}';
    const t = pretokenise(code);
    expect(t).to.include('{if:');
    expect(t).to.include('delete(){');
    expect(t).to.include('o.catch(');
    expect(t).to.include('.in=-4e9');
    expect(t).to.include('`a${o.if}`');
    expect(t).to.include('1.5');
    expect(t).to.include('static(){');
    expect(t).to.include('40000');
    expect(readsBackAs(t, code)).to.equal(true);
    // the same program: evaluate the read-back text
    const run = (c: string): unknown => new Function(c + ';return [o.delete(), s, new C().static()]')();
    expect(run(detokenise(t))).to.deep.equal(run(code));
  });

  it('keeps the spaces that separate words and operators, and no others', () => {
    expect(pretokenise('var a=b+ +c,d=e- -f,g=h in i')).to.equal(
      String.fromCharCode(tok('var')) + 'a=b+ +c,d=e- -f,g=h' + String.fromCharCode(tok('in')) + 'i',
    );
    expect(pretokenise('x=1 .toString()')).to.equal(
      'x=' + String.fromCharCode(LEX_RAW_INT8, 1) + '.toString()',
    );
  });

  it('uploads a pretokenised bundle byte for byte through the console (printable lines)', () => {
    const code = pretokenise('function f(){return"\\u00e9\\n"+12345}f();');
    const lines = storageUploadLines(code);
    let stored = '';
    for (const l of lines) {
      expect(l[0]).to.equal(String.fromCharCode(16)); // echo off for the line
      expect(/^[\x20-\x7e]*\n$/.test(l.slice(1)), 'printable ASCII line').to.equal(true);
      const m = /^require\("Storage"\)\.write\(".bootcde",("(?:[^"\\]|\\.)*"),(\d+),(\d+)\);\n$/.exec(
        l.slice(1),
      );
      expect(m).to.not.equal(null);
      // Espruino reads \xHH and JSON escapes as the same bytes JavaScript does
      stored += new Function('return ' + m![1])() as string;
    }
    expect(stored).to.equal(code);
  });
});
