import { expect } from 'chai';
import { ConfigKey } from '@budlink/protocol';
import { BOARDS, linkBytesPerSecond, pacedFramesPerSecond } from '../../../firmware/boards/index';
import type { BoardProfile } from '../../../firmware/boards/index';
import {
  checkValue,
  decodeValue,
  defaultConfig,
  encodeValue,
  fieldOf,
  loadConfig,
  maxPreRollMs,
  maxRate,
} from '../../../firmware/src/core/config';

const puck = BOARDS.puckjs as BoardProfile;
const dk = BOARDS.nrf52840dk as BoardProfile;

describe('firmware config', () => {
  it('caps the mic rate at what link and pacer sustain', () => {
    expect(linkBytesPerSecond(puck, 50)).to.equal(5520);
    expect(pacedFramesPerSecond(puck) * 46).to.be.closeTo(5520, 1);
    expect(maxRate(puck)).to.equal(5500);
    expect(maxRate(dk)).to.equal(16000);
    for (const b of Object.values(BOARDS)) {
      expect(b.sampleRate, b.id + ' default rate').to.be.at.most(maxRate(b));
      expect(defaultConfig(b).preRollMs, b.id + ' default pre-roll').to.be.at.most(
        maxPreRollMs(b, b.sampleRate),
      );
    }
  });

  it('validates each field against its domain and cross-field rules', () => {
    const cfg = defaultConfig(puck);
    expect(checkValue(puck, cfg, 'hangoverMs', 800)).to.equal(null);
    expect(checkValue(puck, cfg, 'hangoverMs', 99)).to.match(/hangoverMs/);
    expect(checkValue(puck, cfg, 'hangoverMs', 800.5)).to.match(/integer/);
    expect(checkValue(puck, cfg, 'sampleRate', 3999)).to.match(/sampleRate/);
    expect(checkValue(puck, cfg, 'preRollMs', maxPreRollMs(puck, 4000) + 1)).to.match(/preRollMs/);
    const dkCfg = defaultConfig(dk);
    expect(checkValue(dk, dkCfg, 'sampleRate', 16000)).to.match(/pre-roll/); // 12,288 B at 16 kHz: 468 ms
    expect(checkValue(dk, { ...dkCfg, preRollMs: 400 }, 'sampleRate', 16000)).to.equal(null);
    expect(checkValue(puck, cfg, 'name', '')).to.match(/name/);
    expect(checkValue(puck, cfg, 'name', 'ok name')).to.equal(null);
    expect(checkValue(puck, cfg, 'name', 'tab\there')).to.match(/ASCII/);
    expect(checkValue(puck, cfg, 'nonsense', 1)).to.match(/unknown/);
  });

  it('encodes and decodes CONFIG values little-endian, with widths per key', () => {
    const cfg = defaultConfig(dk);
    expect(Array.from(encodeValue(cfg, ConfigKey.SAMPLE_RATE) ?? [])).to.deep.equal([0x40, 0x1f]);
    expect(Array.from(encodeValue(cfg, ConfigKey.VOLUME) ?? [])).to.deep.equal([255]);
    expect(encodeValue(cfg, 99)).to.equal(undefined);
    expect(decodeValue(ConfigKey.HANGOVER_MS, Uint8Array.from([0x20, 0x03]))).to.deep.equal({ value: 800 });
    expect(decodeValue(ConfigKey.NAME, Uint8Array.from([0x41, 0x42]))).to.deep.equal({ value: 'AB' });
    expect(decodeValue(ConfigKey.HANGOVER_MS, Uint8Array.from([1]))).to.have.property('error');
    expect(decodeValue(77, Uint8Array.from([1]))).to.have.property('error');
  });

  it('loads stored config over the defaults, rejecting invalid fields one by one', () => {
    expect(loadConfig(puck, undefined)).to.deep.equal({ config: defaultConfig(puck), rejected: 0 });
    expect(loadConfig(puck, 'garbage').rejected).to.equal(1);
    const r = loadConfig(puck, { hangoverMs: 700, volume: 300, preRollMs: 200, sampleRate: 4500, extra: 1 });
    expect(r.config).to.deep.include({ hangoverMs: 700, volume: 255, preRollMs: 200, sampleRate: 4500 });
    expect(r.rejected).to.equal(1); // volume out of range
    // A rate that only fits with the stored (shorter) pre-roll is accepted with it.
    expect(loadConfig(dk, { sampleRate: 16000, preRollMs: 400 }).config).to.deep.include({
      sampleRate: 16000,
      preRollMs: 400,
    });
    // A rate that does not fit even so is rejected; the pre-roll stays.
    const bad = loadConfig(dk, { sampleRate: 16000 });
    expect(bad.config).to.deep.include({ sampleRate: 8000, preRollMs: 500 });
    expect(bad.rejected).to.equal(1);
  });

  it('every CONFIG key names a Config field and round-trips its value (0 and unknown keys refused)', () => {
    const cfg = defaultConfig(puck);
    for (const key of Object.values(ConfigKey)) {
      const field = fieldOf(key);
      expect(field, 'key ' + key).to.be.a('string');
      expect(cfg, 'key ' + key).to.have.property(field as string);
      const bytes = encodeValue(cfg, key) as Uint8Array;
      expect(decodeValue(key, bytes)).to.deep.equal({
        value: (cfg as unknown as Record<string, unknown>)[field as string],
      });
    }
    for (const bad of [0, 9, 1.5, -1, 255]) {
      expect(fieldOf(bad), String(bad)).to.equal(undefined);
      expect(encodeValue(cfg, bad)).to.equal(undefined);
    }
  });
});
