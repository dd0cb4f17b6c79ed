/**
 * The vectors' format as other languages read it: protocol/vectors/schema.json (JSON Schema) holds for
 * both files, and the plain-Python reference reader (protocol/vectors/reader.py) reads and checks them,
 * and fails on a vector whose bytes do not say what its fields say.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../../protocol/vectors/', import.meta.url));
const python = spawnSync('python3', ['--version']).status === 0;

type Schema = Record<string, unknown>;

/** The subset of JSON Schema that schema.json uses; returns the places that do not conform. */
function validate(value: unknown, schema: Schema, root: Schema, at = '$'): string[] {
  const ref = schema.$ref as string | undefined;
  if (ref)
    return validate(value, (root.$defs as Record<string, Schema>)[ref.replace('#/$defs/', '')]!, root, at);
  const out: string[] = [];
  const types = schema.type === undefined ? [] : ([] as string[]).concat(schema.type as string);
  const typeOf = (v: unknown): string =>
    Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : v === null ? 'null' : typeof v;
  if (types.length && !types.includes(typeOf(value)))
    return [`${at}: ${typeOf(value)}, not ${types.join('|')}`];
  if ('const' in schema && value !== schema.const) out.push(`${at}: not ${JSON.stringify(schema.const)}`);
  if (typeof value === 'string') {
    if (schema.pattern && !new RegExp(schema.pattern as string).test(value))
      out.push(`${at}: does not match`);
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) out.push(`${at}: too short`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) out.push(`${at}: below minimum`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) out.push(`${at}: above maximum`);
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((v, i) => out.push(...validate(v, schema.items as Schema, root, `${at}[${i}]`)));
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const k of (schema.required ?? []) as string[]) if (!(k in obj)) out.push(`${at}: missing ${k}`);
    for (const [k, v] of Object.entries(obj)) {
      if (props[k]) out.push(...validate(v, props[k], root, `${at}.${k}`));
      else if (schema.additionalProperties === false) out.push(`${at}: unknown key ${k}`);
    }
  }
  return out;
}

describe('conformance: the vectors for other languages', () => {
  const schema = JSON.parse(readFileSync(join(DIR, 'schema.json'), 'utf8')) as Schema;

  for (const file of ['golden.json', 'errors.json']) {
    it(`${file} conforms to schema.json`, () => {
      expect(validate(JSON.parse(readFileSync(join(DIR, file), 'utf8')), schema, schema)).to.deep.equal([]);
    });
  }

  it('the schema check itself finds what is wrong', () => {
    const bad = {
      format: 'budlink-vectors/1',
      protocol: '1.0',
      description: '',
      vectors: [{ name: 'X', hex: 'zz' }],
    };
    expect(validate(bad, schema, schema)).to.deep.equal([
      '$.format: not "budlink-vectors/2"',
      '$.vectors[0]: missing comment',
      '$.vectors[0]: missing fields',
      '$.vectors[0].name: does not match',
      '$.vectors[0].hex: does not match',
    ]);
  });

  it('the Python reference reader reads both files without a problem, and catches a wrong byte', function () {
    if (!python) this.skip();
    const ok = spawnSync('python3', [join(DIR, 'reader.py')], { encoding: 'utf8' });
    expect(ok.status, ok.stdout + ok.stderr).to.equal(0);
    const count = (f: string): number =>
      (JSON.parse(readFileSync(join(DIR, f), 'utf8')) as { vectors: unknown[] }).vectors.length;
    expect(ok.stdout).to.equal(
      `golden.json: ${count('golden.json')} vectors, 0 problem(s)\n` +
        `errors.json: ${count('errors.json')} vectors, 0 problem(s)\n`,
    );
    const dir = mkdtempSync(join(tmpdir(), 'budlink-vectors-'));
    try {
      const golden = JSON.parse(readFileSync(join(DIR, 'golden.json'), 'utf8')) as {
        vectors: { name: string; fields: { field: string; bytes: string; value?: number | string }[] }[];
      };
      const v = golden.vectors.find((x) => x.fields.some((f) => f.field === 'seq' && f.bytes !== '0000'))!;
      const seq = v.fields.find((f) => f.field === 'seq')!;
      seq.value = (seq.value as number) + 1; // the value no longer says what the bytes say
      writeFileSync(join(dir, 'golden.json'), JSON.stringify(golden));
      const bad = spawnSync('python3', [join(DIR, 'reader.py'), join(dir, 'golden.json')], {
        encoding: 'utf8',
      });
      expect(bad.status).to.equal(1);
      expect(bad.stdout).to.include(
        `golden.json: ${v.name}.seq: ${String(seq.value)} is not its little-endian bytes`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
