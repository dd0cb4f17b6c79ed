/** E.* helpers with Espruino's semantics, called from a program in the context. */
import { expect } from 'chai';
import { program, stopAll } from './helpers';

describe('sim: E.* native helpers', () => {
  afterEach(stopAll);

  it('E.sum and E.variance (the SUM of squared deviations, not divided by N)', () => {
    const e = program('');
    expect(e.repl('E.sum(new Uint8Array([1,2,3,250]))')).to.equal(256);
    expect(e.repl('E.variance(new Uint8Array([1,2,3,4]), 2.5)')).to.equal(5); // 2.25+0.25+0.25+2.25
    expect(e.repl('E.variance([10,10,10], 10)')).to.equal(0);
    expect(() => e.repl('E.sum(5)')).to.throw(/expecting an array/);
    // errors from natives belong to the program's realm
    expect(e.repl('try { E.sum(5); } catch (x) { x instanceof TypeError }')).to.equal(true);
  });

  it('E.mapInPlace: array LUT (out of range -> 0), function, and bits (MSB first)', () => {
    const e = program('var a = new Uint8Array([5,6,7,8,9,10,11,12]); var b = new Uint8Array(8);');
    expect(e.repl('E.mapInPlace(a, b, [12,11,10,9,8,7,6,5,4,3,2,1,0]); b.join()')).to.equal(
      '7,6,5,4,3,2,1,0',
    );
    expect(e.repl('E.mapInPlace(a, b, new Uint8Array([1,2,3])); b.join()')).to.equal('0,0,0,0,0,0,0,0');
    expect(e.repl('E.mapInPlace(a, b, function(x){return x+1}); b.join()')).to.equal('6,7,8,9,10,11,12,13');
    expect(e.repl('E.mapInPlace(a, b, function(x){return x}, 4); b.join()')).to.equal('0,5,0,6,0,7,0,8');
    expect(e.repl('E.mapInPlace(a, b, function(x){return x}, 1); b.join()')).to.equal('0,0,0,0,0,1,0,1');
    // in place, identity-with-volume LUT
    expect(
      e.repl(
        'var lut = new Uint8Array(256); for (var i=0;i<256;i++) lut[i]=255-i; E.mapInPlace(a, a, lut, 8); a.join()',
      ),
    ).to.equal('250,249,248,247,246,245,244,243');
  });

  it('E.FFT: zero-pads to a power of two, forward scaled by 1/N, magnitude with one array, truncates into int arrays', () => {
    const e = program('');
    // A DC signal of 6 samples (padded to 8): bin 0 = sum/8 = 6*4/8 = 3.
    expect(
      e.repl('var r = new Float32Array([4,4,4,4,4,4]); var i = new Float32Array(6); E.FFT(r, i); r[0]'),
    ).to.equal(3);
    // Magnitude mode into an integer array: cos at bin 2 of 8 -> 0.5 at bins 2 and 6 (x amplitude 10 -> 5).
    expect(
      e.repl(
        'var m = new Int16Array(8); for (var k=0;k<8;k++) m[k] = Math.round(10*Math.cos(2*Math.PI*2*k/8)); E.FFT(m); m.join()',
      ),
    ).to.equal('0,0,5,0,0,0,5,0');
    // Inverse of the forward transform gives the signal back (no 1/N on the way back).
    expect(
      e.repl(
        'var re = new Float64Array([1,2,3,4]), im = new Float64Array(4); E.FFT(re, im); E.FFT(re, im, true); Math.round(re[3]*1000)/1000',
      ),
    ).to.equal(4);
  });

  it('E.CRC32 is the standard CRC-32; E.toString makes a byte string of any length', () => {
    const e = program('');
    expect(e.repl('E.CRC32("123456789")')).to.equal(0xcbf43926);
    expect(e.repl('E.CRC32(new Uint8Array([0x31,0x32,0x33,0x34,0x35,0x36,0x37,0x38,0x39]))')).to.equal(
      0xcbf43926,
    );
    expect(e.repl('E.toString(new Uint8Array([72,105])) + E.toString(33)')).to.equal('Hi!');
    expect(e.repl('E.toString(new Uint8Array(5000)).length')).to.equal(5000);
  });

  it('E.getSizeOf counts JsVars: a Uint8Array(4096) is ~300 on a 13/14-byte-JsVar build', () => {
    const e = program('', { board: 'puckjs' });
    const n = e.repl('E.getSizeOf(new Uint8Array(4096))') as number;
    expect(n).to.be.within(300, 330);
    expect(e.repl('E.getSizeOf({a:1, b:2})')).to.equal(3);
    expect(e.repl('E.getSizeOf([1,2,3,4])')).to.equal(5);
    expect(e.repl('E.getSizeOf("a string of forty characters, more or..")')).to.equal(4);
  });
});
