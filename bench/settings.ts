// What a bench run is lengthened or narrowed by: environment variables such as BENCH_SECONDS, read
// once when the bench starts. A value that does not read as what it names stops the run before it
// measures anything, where Number() would have run NaN seconds and written figures of nothing. An
// empty value is the same as none, as a shell's `BENCH_SECONDS= npm run bench` means.

import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The environment a bench reads its settings from: process.env, or a spec's own. */
export type BenchEnvironment = Readonly<Record<string, string | undefined>>;

const present = (env: BenchEnvironment, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

const positive = (name: string, text: string): number => {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number (got '${text}')`);
  return value;
};

/** The positive number `name` says, or `fallback` when it is unset. */
export function numberSetting(name: string, fallback: number, env: BenchEnvironment = process.env): number {
  const text = present(env, name);
  return text === undefined ? fallback : positive(name, text);
}

/** The comma-separated items `name` lists, trimmed and without empty ones; undefined when it lists none. */
export function listSetting(name: string, env: BenchEnvironment = process.env): string[] | undefined {
  const items = present(env, name)
    ?.split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  return items === undefined || items.length === 0 ? undefined : items;
}

/** The positive numbers `name` lists (`10,50,200`); undefined when it lists none. */
export function numberListSetting(name: string, env: BenchEnvironment = process.env): number[] | undefined {
  return listSetting(name, env)?.map((item) => positive(name, item));
}

/** How long a bench measures each run, and warms up unmeasured before it. */
export interface RunSeconds {
  readonly seconds: number;
  readonly warmupSeconds: number;
}

/** BENCH_SECONDS and BENCH_WARMUP_SECONDS, each bench with defaults of its own. */
export function runSeconds(defaults: RunSeconds, env: BenchEnvironment = process.env): RunSeconds {
  return {
    seconds: numberSetting('BENCH_SECONDS', defaults.seconds, env),
    warmupSeconds: numberSetting('BENCH_WARMUP_SECONDS', defaults.warmupSeconds, env),
  };
}

/** The folder `name` says, which must hold `file` (a build's `dist` holding `main.js`); undefined when unset. */
export function pathSetting(
  name: string,
  file: string,
  env: BenchEnvironment = process.env,
): string | undefined {
  const folder = present(env, name);
  if (folder !== undefined && !existsSync(join(folder, file)))
    throw new Error(`${name} must be a folder holding ${file} (got '${folder}')`);
  return folder;
}
