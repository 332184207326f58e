/**
 * The robustness tier runs in two sizes: short in CI (`npm run test:robust`, a few minutes) and long
 * with `ROBUST_LONG=1` (10,000 cases per property, a 10-minute soak). Every count and duration that
 * differs between them is chosen here, so a spec states each once.
 */
export const LONG = process.env.ROBUST_LONG === '1';

export const MODE = LONG ? 'long' : 'short';

export function scaled<T>(short: T, long: T): T {
  return LONG ? long : short;
}

/** fast-check parameters: `ROBUST_SEED` replays a reported failure. */
export function propertyRuns(short: number, long: number): { numRuns: number; seed?: number } {
  const seed = process.env.ROBUST_SEED;
  return { numRuns: scaled(short, long), ...(seed === undefined ? {} : { seed: Number(seed) }) };
}
