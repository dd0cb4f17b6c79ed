/** `budlink simulate`'s verdict: an utterance is answered only by a whole, complete report of its own. */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeWav } from '@budlink/protocol/audio';
import { judgeRun } from '../../../host/src/cli/verdict';
import { speakableWav } from '../../../host/src/cli/command';
import { statusLine } from '../../../host/src/cli/bridge';
import type { UtteranceReport } from '../../../host/src/pipeline/types';

function report(
  stream: number,
  durationMs: number,
  outcome: UtteranceReport['outcome'] = 'complete',
): UtteranceReport {
  return {
    deviceId: 'AA',
    stream,
    trigger: undefined,
    samples: 0,
    durationMs,
    recovered: 0,
    lost: 0,
    replySamples: 0,
    outcome,
    timings: { wake: 0 },
    transcript: {},
  };
}

describe('cli: simulate verdict', () => {
  const speech = (): number => 2000;
  const said = (earbud: number, path = 'a.wav') => ({ earbud, path, ms: 3000 });

  it('whole and complete reports, one per utterance, per earbud: all answered', () => {
    const v = judgeRun(
      [said(0), said(1), said(0)],
      [[report(1, 2400), report(2, 2100)], [report(1, 2300)]],
      speech,
    );
    expect(v).to.include({ answered: 3, ok: true });
    expect(v.extra).to.deep.equal([]);
  });

  it('a truncated, failed or missing report is not an answer, and the run fails', () => {
    const v = judgeRun([said(0), said(0), said(0)], [[report(1, 170), report(2, 2500, 'error')]], speech);
    expect(v.judged.map((j) => j.why)).to.deep.equal([
      'truncated: 0.17 s heard of 2.00 s said',
      'error',
      'no report: the bridge never heard it end',
    ]);
    expect(v).to.include({ answered: 0, ok: false });
  });

  it('more reports than utterances (one split in two) fails the run even if each looks answered', () => {
    const v = judgeRun([said(0)], [[report(1, 2200), report(2, 2200)]], speech);
    expect(v.answered).to.equal(1);
    expect(v.extra).to.deep.equal(['earbud 0: 2 report(s) for 1 utterance(s) spoken']);
    expect(v.ok).to.equal(false);
  });

  it('nothing spoken is not a success', () => {
    expect(judgeRun([], [[]], speech).ok).to.equal(false);
  });

  it('the speech in a WAV runs from its first to its last sound, silence around it left out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'budlink-verdict-'));
    try {
      const rate = 8000;
      const samples = new Int16Array(rate * 3); // 3 s: 0.5 s silence, 2 s tone, 0.5 s silence
      for (let i = rate / 2; i < rate * 2.5; i++) samples[i] = Math.round(8000 * Math.sin(i / 3));
      const path = join(dir, 'x.wav');
      writeWav(path, samples, rate);
      expect(speakableWav(path, dir, '--wav x.wav')).to.deep.equal({ path, speechMs: 2000 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cli: bridge status line', () => {
  it("says each earbud's phase, utterances and what its last STATUS reported", () => {
    const base = { deviceId: 'AA', connected: true, phase: 'idle' as const, connections: 1, utterances: 3 };
    expect(statusLine(base)).to.equal('AA: idle, 3 utterance(s)');
    const metrics = {
      deviceId: 'AA',
      battery: 80,
      freeVars: 412,
      overruns: 2,
      drops: 5,
      errors: 0,
      uptimeS: 61.4,
      at: 0,
    };
    expect(statusLine({ ...base, connected: false, metrics })).to.equal(
      'AA: disconnected, 3 utterance(s), battery 80%, 412 JsVars free, 2 overrun(s), 5 re-sent, 0 error(s), up 61 s',
    );
  });
});
