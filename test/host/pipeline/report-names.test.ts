import { expect } from 'chai';
import { EndReason, Trigger } from '@budlink/protocol';
import { endReasonName, reportForJson, triggerName } from '../../../host/src/pipeline/report-names';
import type { UtteranceReport } from '../../../host/src/pipeline/types';

describe('pipeline/report-names', () => {
  it('names every trigger and END reason, and says which code it does not know', () => {
    expect(Object.values(Trigger).map(triggerName)).to.deep.equal([
      'wake-word',
      'tap',
      'host',
      'voice-activity',
    ]);
    expect(Object.values(EndReason).map(endReasonName)).to.deep.equal([
      'silence',
      'tap',
      'max-length',
      'cancelled',
      'host',
      'error',
    ]);
    expect(triggerName(9)).to.equal('trigger-9');
    expect(endReasonName(undefined)).to.equal(undefined);
  });

  it('a report in JSON carries names, not codes', () => {
    const r = { stream: 1, trigger: Trigger.TAP, endReason: EndReason.MAX_LENGTH } as UtteranceReport;
    expect(JSON.parse(JSON.stringify(reportForJson(r)))).to.deep.equal({
      stream: 1,
      trigger: 'tap',
      endReason: 'max-length',
    });
  });
});
