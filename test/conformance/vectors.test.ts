/**
 * Conformance: every golden vector drives parse, generate and round trip; every error vector must
 * fail with its typed error. The JSON files are the contract (docs/PROTOCOL.md §Test vectors).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { decodeFrame, encodeFrame, encodeInto, ErrorCode, Fault, FrameType } from '@budlink/protocol';
import { frameFromJson, frameToJson, fromHex, toHex } from './vectors-format';
import type { ErrorVector, GoldenVector, VectorFile } from './vectors-format';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'protocol', 'vectors');
const golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as VectorFile<GoldenVector>;
const errors = JSON.parse(readFileSync(join(dir, 'errors.json'), 'utf8')) as VectorFile<ErrorVector>;

describe('conformance: golden vectors', () => {
  it('cover every frame type, with at least 40 vectors', () => {
    expect(golden.format).to.equal('budlink-vectors/1');
    expect(golden.vectors.length).to.be.at.least(40);
    const seen = new Set(golden.vectors.map((v) => v.frame.type));
    for (const [name, code] of Object.entries(FrameType)) expect(seen.has(code), name).to.equal(true);
  });

  it('have unique names', () => {
    const names = golden.vectors.map((v) => v.name);
    expect(new Set(names).size).to.equal(names.length);
  });

  for (const v of golden.vectors) {
    describe(v.name, () => {
      it('parses to the decoded form', () => {
        const bytes = fromHex(v.hex);
        const r = decodeFrame(bytes, v.maxPayload);
        if (!r.ok) expect.fail(r.error.message);
        expect(frameToJson(r.frame)).to.deep.equal(v.frame);
        for (const key of ['samples', 'value']) {
          const view = (r.frame as unknown as Record<string, unknown>)[key];
          if (view instanceof Uint8Array) {
            expect(view.buffer, 'zero-copy view').to.equal(bytes.buffer);
            expect(view.byteOffset).to.equal(bytes.byteOffset + (key === 'samples' ? 4 : 6));
          }
        }
      });

      it('generates the bytes', () => {
        const r = encodeFrame(frameFromJson(v.frame), v.maxPayload);
        if (!r.ok) expect.fail(r.error.message);
        expect(toHex(r.bytes)).to.equal(v.hex);
        const out = new Uint8Array(300).fill(0xee);
        const w = encodeInto(frameFromJson(v.frame), out, 3, v.maxPayload);
        if (!w.ok) expect.fail(w.error.message);
        expect(toHex(out.subarray(3, 3 + w.length))).to.equal(v.hex);
        expect(out[2]).to.equal(0xee);
        expect(out[3 + w.length]).to.equal(0xee);
      });

      it('round-trips', () => {
        const d = decodeFrame(fromHex(v.hex), v.maxPayload);
        if (!d.ok) expect.fail(d.error.message);
        const e = encodeFrame(d.frame, v.maxPayload);
        if (!e.ok) expect.fail(e.error.message);
        expect(toHex(e.bytes)).to.equal(v.hex);
      });

      if (v.maxPayload !== undefined) {
        it('is refused one byte over its limit when it fills it', () => {
          const bytes = fromHex(v.hex);
          const r = decodeFrame(bytes, bytes.length - 1);
          expect(r.ok).to.equal(false);
        });
      }
    });
  }
});

describe('conformance: error vectors', () => {
  it('number at least 20, with unique names and consistent code/fault names', () => {
    expect(errors.vectors.length).to.be.at.least(20);
    expect(new Set(errors.vectors.map((v) => v.name)).size).to.equal(errors.vectors.length);
    for (const v of errors.vectors) {
      expect((ErrorCode as Record<string, number>)[v.error.codeName], v.name).to.equal(v.error.code);
      expect((Fault as Record<string, number>)[v.error.faultName], v.name).to.equal(v.error.fault);
    }
  });

  for (const v of errors.vectors) {
    it(`${v.name}: ${v.error.codeName}/${v.error.faultName} (${v.comment})`, () => {
      const r = decodeFrame(fromHex(v.hex), v.maxPayload);
      if (r.ok) expect.fail('decoded: ' + JSON.stringify(frameToJson(r.frame)));
      expect(r.error.code).to.equal(v.error.code);
      expect(r.error.fault).to.equal(v.error.fault);
      expect(r.error.offset).to.equal(v.error.offset);
      expect(r.error.message).to.be.a('string').and.not.equal('');
    });
  }
});
