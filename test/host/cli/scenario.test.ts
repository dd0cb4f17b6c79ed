/** The scenario runner of `budlink simulate --scenario`, against fake earbuds on virtual time. */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../host/src/cli/io';
import {
  parseScenario,
  readScenario,
  runScenario,
  sayEach,
  type ScenarioEarbud,
  type ScenarioTarget,
  type Step,
} from '../../../host/src/cli/scenario';
import { VirtualTime } from '@budlink/test-support/virtual-time';

class FakeEarbud implements ScenarioEarbud {
  constructor(
    private readonly i: number,
    private readonly did: string[],
    private readonly now: () => number,
  ) {}
  feedWav(path: string): number {
    this.did.push(`${this.now()} ${this.i} say ${path}`);
    return 1500;
  }
  feedSilence(ms: number): void {
    this.did.push(`${this.now()} ${this.i} silence ${ms}`);
  }
  pressButton(ms: number): void {
    this.did.push(`${this.now()} ${this.i} tap ${ms}`);
  }
  powerCycle(): void {
    this.did.push(`${this.now()} ${this.i} power-cycle`);
  }
}

describe('cli: scenario runner', () => {
  let vt: VirtualTime;
  let did: string[];
  let lines: string[];
  /** Report waits the fake bridge has been asked for, answered by the test. */
  let waits: Array<{ n: number; done: () => void }>;
  let ctrl: AbortController;

  function target(earbuds = 1): ScenarioTarget {
    return {
      earbuds: Array.from({ length: earbuds }, (_, i) => new FakeEarbud(i, did, vt.now)),
      dropLink: (i) => did.push(`${vt.now()} ${i} drop-link`),
      reported: (n) =>
        new Promise<void>((resolve) => {
          did.push(`${vt.now()} wait for ${n} report(s)`);
          waits.push({ n, done: resolve });
        }),
    };
  }
  const run = (steps: Step[], t: ScenarioTarget) =>
    runScenario(steps, t, {
      say: (l) => lines.push(l),
      signal: ctrl.signal,
      cwd: '/w',
      scheduler: vt.scheduler,
    });

  beforeEach(() => {
    vt = new VirtualTime();
    did = [];
    lines = [];
    waits = [];
    ctrl = new AbortController();
  });

  it('runs each kind of step in order; a wait step takes its time on the scheduler', async () => {
    const done = run(
      [
        { tap: 0 },
        { silence: 300 },
        { wait: 500 },
        { dropLink: 1 },
        { powerCycle: 1 },
        { silence: 10, earbud: 1 },
      ],
      target(2),
    );
    await vt.settle();
    expect(did).to.deep.equal(['0 0 tap 100', '0 0 silence 300']);
    await vt.advance(499);
    expect(did).to.have.length(2);
    await vt.advance(1);
    expect(await done).to.deep.equal([]);
    expect(did.slice(2)).to.deep.equal(['500 1 drop-link', '500 1 power-cycle', '500 1 silence 10']);
    // Every step says what it did.
    expect(lines).to.deep.equal([
      'earbud 0: tap',
      'earbud 0: 300 ms of silence',
      'waiting 500 ms',
      'earbud 1: link dropped',
      'earbud 1: power-cycled',
      'earbud 1: 10 ms of silence',
    ]);
  });

  it('after each utterance of a single earbud, waits for its report before the next step', async () => {
    const done = run([{ say: 'a.wav' }, { say: 'b.wav' }], target());
    await vt.settle();
    expect(did).to.deep.equal(['0 0 say /w/a.wav', '0 0 silence 2000', '0 wait for 1 report(s)']);
    expect(lines).to.deep.equal(['earbud 0 says a.wav (1.5 s)']);
    waits[0]?.done();
    await vt.settle();
    expect(did.slice(3)).to.deep.equal(['0 0 say /w/b.wav', '0 0 silence 2000', '0 wait for 2 report(s)']);
    waits[1]?.done();
    expect(await done).to.deep.equal([
      { earbud: 0, path: '/w/a.wav', ms: 1500 },
      { earbud: 0, path: '/w/b.wav', ms: 1500 },
    ]);
  });

  it('several earbuds speak at once: the wait comes after the last one has spoken', async () => {
    const done = run(sayEach(['x.wav'], 3), target(3));
    await vt.settle();
    expect(did.filter((d) => d.includes('say') || d.includes('wait'))).to.deep.equal([
      '0 0 say /w/x.wav',
      '0 1 say /w/x.wav',
      '0 2 say /w/x.wav',
      '0 wait for 3 report(s)',
    ]);
    waits[0]?.done();
    expect((await done).map((x) => x.earbud)).to.deep.equal([0, 1, 2]);
  });

  it('Ctrl-C stops between steps and cuts a wait short', async () => {
    const done = run([{ wait: 60000 }, { tap: 0 }], target());
    await vt.advance(10);
    ctrl.abort();
    expect(await done).to.deep.equal([]);
    expect(did).to.deep.equal([]);
  });

  it('a step naming an earbud that does not exist is a usage error', async () => {
    let caught: unknown;
    await run([{ tap: 2 }], target()).catch((e: unknown) => (caught = e));
    expect(caught).to.be.instanceOf(UsageError);
    expect((caught as Error).message).to.equal('scenario: no earbud 2');
  });

  it('reads steps from a parsed file and says what is wrong with a bad one', () => {
    const steps = parseScenario({ steps: [{ say: 'a.wav', earbud: 1 }, { wait: 5 }] }, 's.json');
    expect(steps).to.deep.equal([{ say: 'a.wav', earbud: 1 }, { wait: 5 }]);
    const bad = (json: unknown) => {
      try {
        parseScenario(json, 's.json');
      } catch (e) {
        expect(e).to.be.instanceOf(UsageError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(bad({ step: [] })).to.equal('scenario s.json: expected { "steps": [...] }');
    expect(bad(null)).to.equal('scenario s.json: expected { "steps": [...] }');
    expect(bad({ steps: [{ jump: 1 }] })).to.equal(
      'scenario s.json: step 0 must have one of say, tap, silence, wait, dropLink, powerCycle (unknown: jump)',
    );
    expect(bad({ steps: [{ tap: 0, loud: true }] })).to.match(
      /step 0 must have one of .* \(unknown: loud\)$/,
    );
    expect(bad({ steps: [{ wait: 'long' }] })).to.equal("scenario s.json: step 0 'wait' must be a number");
    expect(bad({ steps: [{ say: 3 }] })).to.equal("scenario s.json: step 0 'say' must be a file name");
    expect(bad({ steps: [{ tap: 0 }, { say: 'a', earbud: 'left' }] })).to.equal(
      "scenario s.json: step 1 'earbud' must be a number",
    );
  });
});

describe('cli: scenario files', () => {
  it('a WAV a step says is found next to the scenario file, not in the working directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'budlink-scenario-'));
    try {
      mkdirSync(join(dir, 'talks'));
      writeFileSync(
        join(dir, 'talks', 'plan.json'),
        JSON.stringify({ steps: [{ say: 'hello.wav' }, { say: '/abs/x.wav' }, { tap: 0 }] }),
      );
      expect(readScenario('talks/plan.json', dir)).to.deep.equal([
        { say: join(dir, 'talks', 'hello.wav') },
        { say: '/abs/x.wav' },
        { tap: 0 },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
