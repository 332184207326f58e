const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;

/** A duration as an operator writes it: `7d`, `36h`, `90m`, `30s`, or a bare number of days. */
const DURATION = /^(\d+(?:\.\d+)?)([dhms])?$/;

export const DURATION_FORMAT = 'a duration such as 7d, 36h or 90m, or a number of days';

/** Milliseconds, or undefined when `text` is not a duration. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const unit = (match[2] ?? 'd') as keyof typeof UNIT_MS;
  return Math.round(Number(match[1]) * UNIT_MS[unit]);
}

/** The largest unit that says it without a fraction of a day: `7d`, `36h`, `90m`. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of Object.entries(UNIT_MS)) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
