import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { LONG, MODE } from './robust-mode';

/**
 * Figures (latencies, memory, counts) go to a results file, never into assertions. The long run's
 * file, results.json, is committed; a short run writes results.short.json, which git ignores.
 */
export const RESULTS_PATH = join(__dirname, '..', LONG ? 'results.json' : 'results.short.json');

function commit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/** Replaces one section of the results file, keeping the others (each spec writes its own). */
export function recordResults(section: string, figures: Record<string, unknown>): void {
  const previous = existsSync(RESULTS_PATH)
    ? (JSON.parse(readFileSync(RESULTS_PATH, 'utf8')) as Record<string, unknown>)
    : {};
  const results = {
    ...previous,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryMiB: Math.round(totalmem() / 2 ** 20),
      node: process.version,
      platform: process.platform,
    },
    [section]: { mode: MODE, commit: commit(), recordedAt: new Date().toISOString(), ...figures },
  };
  writeFileSync(RESULTS_PATH, `${JSON.stringify(results, null, 2)}\n`);
}

/** p50, p90, p99 and max of latencies in milliseconds, rounded to 0.01 ms. */
export function latencySummary(samples: readonly number[]): Record<string, number | null> {
  if (samples.length === 0) return { count: 0, p50: null, p90: null, p99: null, max: null };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number): number =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 100) / 100;
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

export const mebibytes = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
