/**
 * The arithmetic of `npm run bench:apiserver`, apart from the processes it drives, so that the unit
 * tier can pin it: percentiles of a case's latencies, what the bouncer adds over the apiserver's
 * floor at the same client level, the targets, and the merge into bench/results.json.
 */

/**
 * The cases through the bouncer, in the order the bench runs them. Each is measured right after its
 * floor (the apiserver with no webhook) at the same client level, so both meet the machine alike.
 */
export const APISERVER_CASES = [
  'allowAllWebhook',
  'validating',
  'pinning',
  'verifyWarm',
  'verifyCold',
  'verifyOutage',
] as const;
export type ApiserverCase = (typeof APISERVER_CASES)[number];

/** One case at one client level. */
export interface CaseFigures {
  readonly clients: number;
  /** Pods created (dry run) and admitted in the measured window. */
  readonly admitted: number;
  /** Responses other than 201 Created, and requests that failed, in the measured window. */
  readonly errors: number;
  readonly seconds: number;
  readonly throughputPerSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  /**
   * CPU milliseconds each process spent per admitted pod in the measured window (bench/process-cpu.ts):
   * the apiserver the clients called, etcd, the bouncer with its workers, the registry, the load generator.
   */
  readonly cpuMsPerPod?: Readonly<Record<string, number>>;
}

/** Each case minus the floor at the same client level, from the same run. */
export interface BouncerAdds {
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

/**
 * The q-th percentile (0 < q ≤ 100) by the nearest-rank method: the smallest sample with at least
 * q% of the samples at or below it. Nearest rank never invents a latency no request had.
 */
export function percentile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return NaN;
  if (!(q > 0 && q <= 100)) throw new RangeError(`percentile ${q} is not in (0, 100]`);
  const sorted = Float64Array.from(samples).sort();
  return sorted[Math.ceil((q / 100) * sorted.length) - 1];
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits));

/** The figures of one measured window: latencies of admitted pods only, so that errors never flatter p99. */
export function caseFigures(
  clients: number,
  latenciesMs: readonly number[],
  errors: number,
  seconds: number,
): CaseFigures {
  return {
    clients,
    admitted: latenciesMs.length,
    errors,
    seconds: round(seconds, 2),
    throughputPerSecond: round(latenciesMs.length / seconds, 1),
    p50Ms: round(percentile(latenciesMs, 50), 2),
    p95Ms: round(percentile(latenciesMs, 95), 2),
    p99Ms: round(percentile(latenciesMs, 99), 2),
  };
}

/** What the bouncer adds: the case's percentile minus the floor's, at the same client level. */
export function bouncerAdds(figures: CaseFigures, floor: CaseFigures): BouncerAdds {
  if (figures.clients !== floor.clients)
    throw new Error(`floor at ${floor.clients} clients is no floor for ${figures.clients} clients`);
  return {
    p50Ms: round(figures.p50Ms - floor.p50Ms, 2),
    p95Ms: round(figures.p95Ms - floor.p95Ms, 2),
    p99Ms: round(figures.p99Ms - floor.p99Ms, 2),
  };
}

/** The targets for the apiserver bench: at 50 clients, what the bouncer adds to p99, warm. */
export const APISERVER_TARGETS = [
  {
    case: 'validating',
    clients: 50,
    maxAddedP99Ms: 5,
    name: 'adds to p99 <= 5 ms, 50 clients, default policy',
  },
  {
    case: 'verifyWarm',
    clients: 50,
    maxAddedP99Ms: 10,
    name: 'adds to p99 <= 10 ms, 50 clients, verifySignatures warm',
  },
] as const;

export interface TargetOutcome {
  readonly target: string;
  readonly addedP99Ms: number;
  readonly met: boolean;
}

/** The targets whose case and client level were measured; a figure not measured is neither met nor missed. */
export function apiserverTargets(
  adds: Partial<Record<ApiserverCase, Record<string, BouncerAdds>>>,
): TargetOutcome[] {
  return APISERVER_TARGETS.flatMap((target) => {
    const added = adds[target.case]?.[String(target.clients)];
    if (!added || Number.isNaN(added.p99Ms)) return [];
    return [{ target: target.name, addedP99Ms: added.p99Ms, met: added.p99Ms <= target.maxAddedP99Ms }];
  });
}

/**
 * bench/results.json with its `apiserver` key replaced and every other key kept as it was, in its
 * place: `npm run bench` writes the rest of the file, and neither run may erase the other's figures.
 * A file that is missing or not a JSON object is started afresh.
 */
export function withApiserverFigures(existingText: string | undefined, apiserver: unknown): string {
  let existing: Record<string, unknown> = {};
  if (existingText !== undefined) {
    try {
      const parsed = JSON.parse(existingText) as unknown;
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
        existing = parsed as Record<string, unknown>;
    } catch {
      existing = {};
    }
  }
  return `${JSON.stringify({ ...existing, apiserver }, null, 2)}\n`;
}

/** The `apiserver` key of an existing bench/results.json, for `npm run bench` to carry over; undefined if none. */
export function apiserverFiguresOf(existingText: string | undefined): unknown {
  if (existingText === undefined) return undefined;
  try {
    const parsed = JSON.parse(existingText) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>).apiserver
      : undefined;
  } catch {
    return undefined;
  }
}
