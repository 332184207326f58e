import {
  HotDigests,
  MAX_REFRESHES_AT_ONCE,
  MAX_REFRESHES_PER_MINUTE,
  OUTAGE_PROBE_INTERVAL_MS,
  RefreshOutcome,
} from './hot-digests';

describe(HotDigests.name, () => {
  let now = 0;
  let failing = new Set<string>();
  const outcomes: RefreshOutcome[] = [];
  const sut = (): HotDigests => {
    const hot = new HotDigests(
      () => now,
      (registry) => failing.has(registry),
    );
    hot.onRefresh((outcome) => outcomes.push(outcome));
    return hot;
  };

  beforeEach(() => {
    now = 1_000_000;
    failing = new Set();
    outcomes.length = 0;
  });

  it('re-verifies a digest in use once it is due, and not before', async () => {
    const hot = sut();
    const refresh = jest.fn().mockResolvedValue({ outcome: 'verified', refreshAt: now + 50_000 });
    hot.use({ key: 'a', registry: 'r', refreshAt: now + 10_000, refresh });

    await hot.tick();
    now += 10_000;
    await hot.tick();
    await hot.tick();

    expect(refresh).toHaveBeenCalledTimes(1);
    expect(outcomes).toEqual(['verified']);
  });

  it('lets a digest no longer in use drop out instead of refreshing it', async () => {
    const hot = sut();
    const refresh = jest.fn().mockResolvedValue({ outcome: 'verified', refreshAt: now + 1 });
    hot.use({ key: 'a', registry: 'r', refreshAt: now, refresh });
    await hot.tick();
    now += 10;

    await hot.tick();

    expect(refresh).toHaveBeenCalledTimes(1);
    expect(hot.size).toBe(0);
  });

  it('starts at most MAX_REFRESHES_AT_ONCE at a time and MAX_REFRESHES_PER_MINUTE a minute, deferring the rest', async () => {
    const hot = sut();
    let running = 0;
    let most = 0;
    let started = 0;
    for (let i = 0; i < 200; i++)
      hot.use({
        key: `d${i}`,
        registry: 'r',
        refreshAt: now,
        refresh: async () => {
          started += 1;
          most = Math.max(most, ++running);
          await Promise.resolve();
          running -= 1;
          return { outcome: 'verified', refreshAt: now + 3_600_000 };
        },
      });

    for (let tick = 0; tick < 100; tick++) await hot.tick();
    const inTheFirstMinute = started;
    now += 60_000;
    for (let tick = 0; tick < 100; tick++) await hot.tick();

    expect(most).toBeLessThanOrEqual(MAX_REFRESHES_AT_ONCE);
    expect(inTheFirstMinute).toBe(MAX_REFRESHES_PER_MINUTE);
    expect(started).toBe(2 * MAX_REFRESHES_PER_MINUTE);
    expect(outcomes).toContain('deferred');
  });

  it('probes a failing registry with one of its digests every OUTAGE_PROBE_INTERVAL_MS, whatever their schedule', async () => {
    const hot = sut();
    failing.add('down');
    const probes = jest.fn().mockResolvedValue({ outcome: 'registry failure' });
    for (const key of ['a', 'b', 'c'])
      hot.use({ key, registry: 'down', refreshAt: now + 86_400_000, refresh: probes });

    await hot.tick();
    await hot.tick();
    now += OUTAGE_PROBE_INTERVAL_MS;
    await hot.tick();

    expect(probes).toHaveBeenCalledTimes(2);
    expect(hot.size).toBe(3);
  });

  it('forgets a digest whose verdict was refused or belongs to a policy no longer in force', async () => {
    const hot = sut();
    hot.use({
      key: 'a',
      registry: 'r',
      refreshAt: now,
      refresh: () => Promise.resolve({ outcome: 'refused' }),
    });
    hot.use({
      key: 'b',
      registry: 'r',
      refreshAt: now,
      refresh: () => Promise.resolve({ outcome: 'stale' }),
    });

    await hot.tick();

    expect(hot.size).toBe(0);
    expect(outcomes.sort()).toEqual(['refused', 'stale']);
  });
});
