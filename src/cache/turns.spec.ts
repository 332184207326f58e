import { inTurns } from './turns';

describe(inTurns.name, () => {
  /** Work that runs until released, counting how many pieces run at once. */
  function meteredWork() {
    let running = 0;
    let most = 0;
    const releases: (() => void)[] = [];
    return {
      work: () =>
        new Promise<void>((resolve) => {
          running++;
          most = Math.max(most, running);
          releases.push(() => {
            running--;
            resolve();
          });
        }),
      releaseAll: async (): Promise<void> => {
        while (releases.length > 0) {
          releases.shift()!();
          await new Promise((resolve) => setImmediate(resolve));
        }
      },
      get most() {
        return most;
      },
      get started() {
        return releases.length;
      },
    };
  }

  it('runs at most `limit` pieces at once, the rest in the order they came', async () => {
    const sut = inTurns(3);
    const meter = meteredWork();
    const order: number[] = [];

    const all = Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        sut(async () => {
          order.push(i);
          await meter.work();
        }),
      ),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(meter.started).toBe(3);
    await meter.releaseAll();
    await all;

    expect(meter.most).toBe(3);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('keeps the bound while pieces finish and newcomers arrive in the same turns', async () => {
    const sut = inTurns(2);
    const meter = meteredWork();
    const all: Promise<void>[] = [];

    for (let i = 0; i < 4; i++) all.push(sut(() => meter.work()));
    for (let step = 0; step < 6; step++) {
      await meter.releaseAll();
      all.push(
        sut(() => meter.work()),
        sut(() => meter.work()),
      );
    }
    await meter.releaseAll();
    await Promise.all(all);

    expect(meter.most).toBe(2);
  });

  it('frees the place of work that fails', async () => {
    const sut = inTurns(1);

    await expect(sut(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(sut(() => Promise.resolve('next'))).resolves.toBe('next');
  });
});
