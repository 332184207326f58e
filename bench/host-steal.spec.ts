import { cpuTimesOf, stealPercent } from './host-steal';

const PROC_STAT = [
  'cpu  1000 10 300 8000 50 0 40 600 0 0',
  'cpu0 500 5 150 4000 25 0 20 300 0 0',
  'intr 12345',
].join('\n');

describe('host steal', () => {
  it('reads steal and the total of the eight time columns from the aggregate cpu line', () => {
    expect(cpuTimesOf(PROC_STAT)).toEqual({ steal: 600, total: 10_000 });
  });

  it('is undefined for text without an aggregate cpu line', () => {
    expect(cpuTimesOf('cpu0 1 2 3 4 5 6 7 8\n')).toBeUndefined();
    expect(cpuTimesOf('cpu  1 2 three 4 5 6 7 8')).toBeUndefined();
  });

  it('gives the share stolen between two readings', () => {
    expect(stealPercent({ steal: 600, total: 10_000 }, { steal: 850, total: 11_000 })).toBe(25);
    expect(stealPercent({ steal: 600, total: 10_000 }, { steal: 601, total: 10_300 })).toBe(0.3);
  });

  it('says nothing without two readings, or with no time between them', () => {
    expect(stealPercent(undefined, { steal: 1, total: 2 })).toBeUndefined();
    expect(stealPercent({ steal: 1, total: 2 }, { steal: 1, total: 2 })).toBeUndefined();
  });
});
