import {
  apiserverFiguresOf,
  apiserverTargets,
  bouncerAdds,
  caseFigures,
  percentile,
  withApiserverFigures,
} from './apiserver-figures';

describe('percentile', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 down to 1, unsorted on purpose

  it('is the nearest rank: the smallest sample with q% of the samples at or below it', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 95)).toBe(95);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([7, 1, 3], 50)).toBe(3);
    expect(percentile([7, 1, 3], 99)).toBe(7);
  });

  it('sorts numerically, not as strings, and leaves its input as it was', () => {
    const samples = [10, 9, 100, 2];
    expect(percentile(samples, 50)).toBe(9);
    expect(percentile(samples, 75)).toBe(10);
    expect(samples).toEqual([10, 9, 100, 2]);
  });

  it('has no value without samples, and refuses a rank outside (0, 100]', () => {
    expect(percentile([], 99)).toBeNaN();
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe('caseFigures', () => {
  it('counts admitted pods over the window, and takes percentiles of their latencies only', () => {
    const latencies = Array.from({ length: 200 }, (_, i) => i + 1);
    expect(caseFigures(50, latencies, 3, 10)).toEqual({
      clients: 50,
      admitted: 200,
      errors: 3,
      seconds: 10,
      throughputPerSecond: 20,
      p50Ms: 100,
      p95Ms: 190,
      p99Ms: 198,
    });
  });
});

describe('bouncerAdds', () => {
  const floor = caseFigures(50, [10, 20, 30, 40], 0, 1);

  it('is each percentile minus the floor at the same client level', () => {
    const webhook = caseFigures(50, [12.5, 23, 33, 47.25], 0, 1);
    expect(bouncerAdds(webhook, floor)).toEqual({ p50Ms: 3, p95Ms: 7.25, p99Ms: 7.25 });
  });

  it('may be negative: a noisy machine is reported, not hidden', () => {
    expect(bouncerAdds(caseFigures(50, [9, 19, 29, 39], 0, 1), floor).p99Ms).toBe(-1);
  });

  it('refuses a floor measured at another client level', () => {
    expect(() => bouncerAdds(caseFigures(10, [1], 0, 1), floor)).toThrow(/10 clients/);
  });
});

describe('apiserverTargets', () => {
  const adds = (p99Ms: number) => ({ p50Ms: 0, p95Ms: 0, p99Ms });

  it('judges the default policy against 5 ms and verifySignatures warm against 10 ms, at 50 clients', () => {
    expect(
      apiserverTargets({
        validating: { '10': adds(50), '50': adds(5) },
        verifyWarm: { '50': adds(10.01), '200': adds(1) },
      }),
    ).toEqual([
      { target: expect.stringContaining('default policy'), addedP99Ms: 5, met: true },
      { target: expect.stringContaining('verifySignatures warm'), addedP99Ms: 10.01, met: false },
    ]);
  });

  it('neither meets nor misses a target whose case or client level was not measured', () => {
    expect(apiserverTargets({ validating: { '10': adds(1) } })).toEqual([]);
  });
});

describe('the apiserver key of bench/results.json', () => {
  const apiserver = { cases: { floor: {} } };

  it('replaces only the apiserver key, keeping every other key and its place', () => {
    const existing = JSON.stringify({
      measuredAt: 'x',
      payloads: [1],
      apiserver: { old: true },
      targets: { a: true },
    });
    const merged = JSON.parse(withApiserverFigures(existing, apiserver)) as Record<string, unknown>;
    expect(Object.keys(merged)).toEqual(['measuredAt', 'payloads', 'apiserver', 'targets']);
    expect(merged).toEqual({ measuredAt: 'x', payloads: [1], apiserver, targets: { a: true } });
  });

  it('starts afresh from a missing file or one that is not a JSON object', () => {
    for (const existing of [undefined, '', 'not json', '[1,2]', 'null'])
      expect(JSON.parse(withApiserverFigures(existing, apiserver))).toEqual({ apiserver });
  });

  it('is carried over by a run that rewrites the rest of the file', () => {
    const written = withApiserverFigures(JSON.stringify({ payloads: [] }), apiserver);
    expect(apiserverFiguresOf(written)).toEqual(apiserver);
    expect(apiserverFiguresOf(JSON.stringify({ payloads: [] }))).toBeUndefined();
    expect(apiserverFiguresOf(undefined)).toBeUndefined();
    expect(apiserverFiguresOf('{broken')).toBeUndefined();
  });
});
