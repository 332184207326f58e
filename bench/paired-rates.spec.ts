import { median, pairedRates } from './paired-rates';

describe('paired saturation rates', () => {
  it('gives b over a within each cycle, so that a machine slower for a whole cycle moves neither side', () => {
    const rates = pairedRates([
      [2000, 1600, 1600, 2000],
      [1000, 800, 800, 1000],
      [1500, 1200, 1200, 1500],
    ]);

    expect(rates.cycleRatios).toEqual([0.8, 0.8, 0.8]);
    expect(rates.ratio).toBeCloseTo(0.8);
  });

  it('cancels a drift within a cycle by its order, a b b a', () => {
    // The machine slows steadily through the cycle: 2000, 1900, 1800, 1700 for equal servers.
    expect(pairedRates([[2000, 1900, 1800, 1700]]).ratio).toBeCloseTo(1);
  });

  it('leaves out one cycle that a burst of the host load hit, where a mean over runs would not', () => {
    const rates = pairedRates([
      [2000, 1800, 1800, 2000],
      [2000, 600, 700, 2000],
      [2000, 1800, 1800, 2000],
    ]);

    expect(rates.ratio).toBeCloseTo(0.9);
    expect(rates.b).toBe(1800);
    expect(rates.a).toBe(2000);
  });

  it('takes the mean of the two middle values for an even count, and NaN for none', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([])).toBeNaN();
  });

  it('says NaN for a cycle whose a served nothing, instead of a ratio of infinity', () => {
    expect(pairedRates([[0, 100, 100, 0]]).cycleRatios).toEqual([NaN]);
  });
});
