import { BoundedTtlCache, CacheEvent } from './bounded-ttl-cache';

/** A clock the test moves by hand. */
const manualClock = (): { now: () => number; advance: (ms: number) => void } => {
  let now = 1_000_000;
  return { now: () => now, advance: (ms) => (now += ms) };
};

describe(BoundedTtlCache.name, () => {
  const build = (maxEntries = 10) => {
    const clock = manualClock();
    const events: CacheEvent[] = [];
    const sut = new BoundedTtlCache<string, string>({ name: 'test', maxEntries, clock: clock.now });
    sut.onEvent((_cache, event) => events.push(event));
    return { sut, clock, events };
  };

  describe('expiry', () => {
    it('gives a value until its TTL has passed, and nothing from then on', () => {
      const { sut, clock } = build();
      sut.set('tag', 'sha256:a', 1_000);

      clock.advance(999);
      expect(sut.get('tag')).toBe('sha256:a');

      clock.advance(1);
      expect(sut.get('tag')).toBeUndefined();
    });

    it('forgets an expired entry when it is read, so it no longer counts towards the size', () => {
      const { sut, clock } = build();
      sut.set('tag', 'sha256:a', 10);
      clock.advance(10);

      expect(sut.get('tag')).toBeUndefined();
      expect(sut.size).toBe(0);
    });

    it('lets each value live for the time its writer gives', () => {
      const { sut, clock } = build();
      sut.set('failure', 'short', 10);
      sut.set('success', 'long', 10_000);

      clock.advance(100);

      expect(sut.get('failure')).toBeUndefined();
      expect(sut.get('success')).toBe('long');
    });

    it('restarts the TTL when a key is written again', () => {
      const { sut, clock } = build();
      sut.set('tag', 'sha256:a', 100);
      clock.advance(90);
      sut.set('tag', 'sha256:b', 100);
      clock.advance(90);

      expect(sut.get('tag')).toBe('sha256:b');
    });

    it.each([0, -1])('does not store a value whose TTL is %d', (ttl) => {
      const { sut, events } = build();
      sut.set('tag', 'sha256:a', ttl);

      expect(sut.size).toBe(0);
      expect(sut.get('tag')).toBeUndefined();
      expect(events).toEqual(['miss']);
    });

    it('reads from Date.now when given no clock', () => {
      const sut = new BoundedTtlCache<string, number>({ name: 'test', maxEntries: 1 });
      sut.set('k', 1, 60_000);
      expect(sut.get('k')).toBe(1);
    });
  });

  describe('bound', () => {
    it('evicts the least recently written entry first when full', () => {
      const { sut } = build(2);
      sut.set('a', '1', 1_000);
      sut.set('b', '2', 1_000);
      sut.set('c', '3', 1_000);

      expect(sut.size).toBe(2);
      expect(sut.get('a')).toBeUndefined();
      expect(sut.get('b')).toBe('2');
      expect(sut.get('c')).toBe('3');
    });

    it('counts a read as a use, so the entry read last survives', () => {
      const { sut } = build(2);
      sut.set('a', '1', 1_000);
      sut.set('b', '2', 1_000);
      sut.get('a');
      sut.set('c', '3', 1_000);

      expect(sut.get('b')).toBeUndefined();
      expect(sut.get('a')).toBe('1');
      expect(sut.get('c')).toBe('3');
    });

    it('counts a rewrite as a use, and a rewrite does not grow the cache', () => {
      const { sut, events } = build(2);
      sut.set('a', '1', 1_000);
      sut.set('b', '2', 1_000);
      sut.set('a', '1b', 1_000);
      expect(sut.size).toBe(2);
      expect(events).toEqual([]);

      sut.set('c', '3', 1_000);

      expect(sut.get('b')).toBeUndefined();
      expect(sut.get('a')).toBe('1b');
    });

    it('stays within its bound whatever is written', () => {
      const { sut } = build(3);
      for (let i = 0; i < 100; i++) sut.set(`k${i}`, String(i), 1_000);

      expect(sut.size).toBe(3);
      expect(['k97', 'k98', 'k99'].map((k) => sut.get(k))).toEqual(['97', '98', '99']);
    });
  });

  describe('weight', () => {
    const weighed = (maxWeight: number) =>
      new BoundedTtlCache<string, string>({
        name: 'test',
        maxEntries: 100,
        clock: manualClock().now,
        maxWeight,
        weigh: (value) => value.length,
      });

    it('keeps the weights held within its bound, evicting the least recently used first', () => {
      const sut = weighed(10);
      sut.set('a', 'aaaa', 1_000);
      sut.set('b', 'bbbb', 1_000);
      sut.get('a');
      sut.set('c', 'cccc', 1_000);

      expect(sut.get('b')).toBeUndefined();
      expect([sut.get('a'), sut.get('c')]).toEqual(['aaaa', 'cccc']);
      expect(sut.heldWeight).toBe(8);
    });

    it('does not keep a value heavier than the whole bound, and forgets what the key held', () => {
      const sut = weighed(10);
      sut.set('a', 'aa', 1_000);
      sut.set('a', 'a'.repeat(11), 1_000);

      expect(sut.get('a')).toBeUndefined();
      expect(sut.heldWeight).toBe(0);
    });

    it('gives back the weight of what expires, is deleted or rewritten', () => {
      const clock = manualClock();
      const sut = new BoundedTtlCache<string, string>({
        name: 'test',
        maxEntries: 100,
        clock: clock.now,
        maxWeight: 100,
        weigh: (value) => value.length,
      });
      sut.set('a', 'aaa', 10);
      sut.set('b', 'bbb', 1_000);
      sut.set('c', 'ccc', 1_000);
      sut.set('c', 'c', 1_000);
      sut.delete('b');
      clock.advance(10);
      sut.get('a');

      expect(sut.heldWeight).toBe(1);
    });
  });

  describe('events', () => {
    it('reports a hit, a miss and an eviction under its name', () => {
      const clock = manualClock();
      const seen: [string, CacheEvent][] = [];
      const sut = new BoundedTtlCache<string, string>({
        name: 'tag-digest',
        maxEntries: 1,
        clock: clock.now,
      });
      sut.onEvent((cache, event) => seen.push([cache, event]));

      sut.get('a');
      sut.set('a', '1', 100);
      sut.get('a');
      sut.set('b', '2', 100);

      expect(seen).toEqual([
        ['tag-digest', 'miss'],
        ['tag-digest', 'hit'],
        ['tag-digest', 'eviction'],
      ]);
      expect(sut.name).toBe('tag-digest');
    });

    it('reports an expired entry as a miss', () => {
      const { sut, clock, events } = build();
      sut.set('a', '1', 100);
      clock.advance(100);
      sut.get('a');

      expect(events).toEqual(['miss']);
    });

    it('tells every listener', () => {
      const { sut, events } = build();
      const second: CacheEvent[] = [];
      sut.onEvent((_cache, event) => second.push(event));

      sut.get('a');

      expect(events).toEqual(['miss']);
      expect(second).toEqual(['miss']);
    });
  });

  it('forgets one key on delete, and every key on clear', () => {
    const { sut } = build();
    sut.set('a', '1', 100);
    sut.set('b', '2', 100);

    sut.delete('a');
    expect(sut.get('a')).toBeUndefined();
    expect(sut.get('b')).toBe('2');

    sut.clear();
    expect(sut.size).toBe(0);
  });
});
