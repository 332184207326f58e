/**
 * Reports of one file change from several workers come within a second or two (each reads the
 * file on a watch event or its 1 s poll; readiness fails when they part for 5 s): later reports
 * are taken for another change.
 */
const SAME_CHANGE_WINDOW_MS = 10_000;

/**
 * Tells the first report of a change apart from the other workers' reports of it, so that the
 * primary counts and logs what every worker sees (a policy edit, a refusal) once. A worker that
 * reports the same change again has seen it happen again (an edit undone and redone).
 */
export class ChangeReports {
  private readonly seen = new Map<string, { at: number; reporters: Set<number> }>();

  /** Whether this report is the first of `change`, rather than another worker's report of it. */
  isFirst(change: string, reporter: number, now = Date.now()): boolean {
    for (const [key, { at }] of this.seen) if (now - at > SAME_CHANGE_WINDOW_MS) this.seen.delete(key);
    const known = this.seen.get(change);
    if (known && !known.reporters.has(reporter)) {
      known.reporters.add(reporter);
      return false;
    }
    this.seen.set(change, { at: now, reporters: new Set([reporter]) });
    return true;
  }
}
