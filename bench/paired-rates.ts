/**
 * The arithmetic of a paired saturation comparison. Two servers on one small machine share it with
 * the load generator and with whatever else the host runs, and their throughput drifts by a third
 * over tens of seconds, for both alike. Short runs in the order a b b a cancel a drift within a
 * cycle; several cycles and a median leave out a cycle that one burst of the host's own load hit.
 */

/** One cycle of the comparison: requests per second of a, b, b, a, in the order they ran. */
export type PairCycle = readonly [a1: number, b1: number, b2: number, a2: number];

export interface PairedRates {
  /** The median over cycles of each cycle's mean for a, and for b. */
  readonly a: number;
  readonly b: number;
  /** The median over cycles of b's mean over a's mean within the cycle: what a target reads. */
  readonly ratio: number;
  readonly cycleRatios: readonly number[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function pairedRates(cycles: readonly PairCycle[]): PairedRates {
  const aMeans = cycles.map(([a1, , , a2]) => (a1 + a2) / 2);
  const bMeans = cycles.map(([, b1, b2]) => (b1 + b2) / 2);
  const cycleRatios = cycles.map((_, i) => (aMeans[i] > 0 ? bMeans[i] / aMeans[i] : NaN));
  return { a: median(aMeans), b: median(bMeans), ratio: median(cycleRatios), cycleRatios };
}
