import type { ServingStateSnapshot } from '../health';

/**
 * How long workers may serve different certificates or enforce different policy revisions before
 * the cluster stops being ready. Each worker reads the files itself, on a watch event or at the
 * latest its 1 s poll, so under load they part for a few hundred milliseconds at most; a worker
 * still apart after 5 s has missed a change, and would serve it until restarted.
 */
export const AGREEMENT_BOUND_MS = 5_000;

export interface WorkerReadiness {
  readonly pid: number | undefined;
  readonly ready: boolean;
  /** What the worker's own /readyz answered. */
  readonly body: unknown;
  /** What it serves and enforces; absent when it did not answer, or has not loaded both. */
  readonly state?: ServingStateSnapshot;
}

export interface WorkerAgreement {
  readonly converged: boolean;
  /** How long the workers have held what they hold now, while disagreeing; 0 when they agree. */
  readonly disagreeingForMs: number;
  /** Which workers hold what, when they disagree. */
  readonly message?: string;
}

/**
 * Whether every worker serves the same certificate and enforces the same policy revision. A
 * disagreement is dated from the latest change any worker made to the attribute they disagree on:
 * a worker stuck on an old certificate is apart from the others since they moved on.
 */
export function workerAgreement(workers: readonly WorkerReadiness[], now: number): WorkerAgreement {
  const reporting = workers.filter(
    (w): w is WorkerReadiness & { state: ServingStateSnapshot } => w.state !== undefined,
  );
  const attributes = [
    {
      held: (s: ServingStateSnapshot) => s.fingerprint256,
      since: (s: ServingStateSnapshot) => s.certificateSince,
    },
    {
      held: (s: ServingStateSnapshot) => s.policyRevision,
      since: (s: ServingStateSnapshot) => s.policySince,
    },
  ];
  const disagreeing = attributes.filter(({ held }) => new Set(reporting.map((w) => held(w.state))).size > 1);
  if (disagreeing.length === 0) return { converged: true, disagreeingForMs: 0 };

  const disagreeingForMs = Math.max(
    ...disagreeing.map(({ since }) => now - Math.max(...reporting.map((w) => Date.parse(since(w.state))))),
  );
  const groups = new Map<string, { state: ServingStateSnapshot; pids: (number | undefined)[] }>();
  for (const { pid, state } of reporting) {
    const key = `${state.fingerprint256} ${state.policyRevision}`;
    const group = groups.get(key) ?? { state, pids: [] };
    group.pids.push(pid);
    groups.set(key, group);
  }
  const holdings = [...groups.values()].map(({ state, pids }) => {
    const one = pids.length === 1;
    return (
      `${one ? 'worker' : 'workers'} ${pids.join(', ')} ${one ? 'serves' : 'serve'} certificate ${state.fingerprint256} ` +
      `and ${one ? 'enforces' : 'enforce'} policy revision ${state.policyRevision}`
    );
  });
  return {
    converged: false,
    disagreeingForMs,
    message:
      `workers disagree for ${(disagreeingForMs / 1000).toFixed(1)} s (readiness fails after ${AGREEMENT_BOUND_MS / 1000} s): ` +
      holdings.join('; '),
  };
}
