import { ChangeReports } from './change-reports';

describe(ChangeReports.name, () => {
  const t0 = 1_000_000;

  it('takes the reports of one change by every worker as one change', () => {
    const sut = new ChangeReports();
    expect([
      sut.isFirst('a→b', 1, t0),
      sut.isFirst('a→b', 2, t0 + 900),
      sut.isFirst('a→b', 3, t0 + 1_500),
    ]).toEqual([true, false, false]);
  });

  it('takes a second report by the same worker for the change happening again', () => {
    const sut = new ChangeReports();
    // a→b, b→a, a→b again, each seen by two workers, the second lagging behind the first.
    const reports = [
      sut.isFirst('a→b', 1, t0),
      sut.isFirst('b→a', 1, t0 + 100),
      sut.isFirst('a→b', 2, t0 + 200),
      sut.isFirst('a→b', 1, t0 + 300),
      sut.isFirst('b→a', 2, t0 + 400),
      sut.isFirst('a→b', 2, t0 + 500),
    ];
    expect(reports).toEqual([true, true, false, true, false, false]);
  });

  it('forgets a change after the window, so a later one like it counts', () => {
    const sut = new ChangeReports();
    expect(sut.isFirst('a→b', 1, t0)).toBe(true);
    expect(sut.isFirst('a→b', 2, t0 + 10_001)).toBe(true);
  });
});
