import { FrameType, type Frame } from '@budlink/protocol';
import { statusMetrics } from '../../../host/src/pipeline/status-metrics';
import { scheduler } from './marbles';

const status = (overruns: number, drops: number, uptimeS: number, battery = 80): Frame => ({
  type: FrameType.STATUS,
  stream: 0,
  seq: 0,
  battery,
  freeVars: 1000,
  overruns,
  drops,
  errors: 0,
  uptimeS,
});

describe('pipeline/status-metrics', () => {
  it('turns STATUS frames into metrics, unwrapping 16-bit counters and surviving a reboot', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold('a-p-b-c-d-|', {
        a: status(65534, 3, 10),
        p: { type: FrameType.PING, stream: 0, seq: 0, token: 1 },
        b: status(2, 5, 20),
        c: status(1, 1, 1, 255),
        d: status(1, 1, 2),
      });
      const m = (overruns: number, drops: number, uptimeS: number, battery: number | undefined) => ({
        deviceId: 'dev',
        battery,
        freeVars: 1000,
        overruns,
        drops,
        errors: 0,
        uptimeS,
        at: 0,
      });
      expectObservable(src.pipe(statusMetrics('dev', () => 0))).toBe('a---b-c-d-|', {
        a: m(65534, 3, 10, 80),
        b: m(65538, 5, 20, 80),
        c: m(65539, 6, 1, undefined),
        d: m(65539, 6, 2, 80),
      });
      expectSubscriptions(src.subscriptions).toBe('^---------!');
    });
  });
});
