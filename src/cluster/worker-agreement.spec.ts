import type { ServingStateSnapshot } from '../health/serving-state';
import { WorkerReadiness, workerAgreement } from './worker-agreement';

const NOW = Date.parse('2026-06-15T12:00:10.000Z');
const at = (secondsBeforeNow: number): string => new Date(NOW - secondsBeforeNow * 1000).toISOString();

const state = (overrides: Partial<ServingStateSnapshot> = {}): ServingStateSnapshot => ({
  fingerprint256: 'AA:AA',
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2027-01-01T00:00:00.000Z',
  certificateSince: at(60),
  policyRevision: 'r1',
  policySince: at(60),
  ...overrides,
});
const worker = (pid: number, overrides?: Partial<ServingStateSnapshot>): WorkerReadiness => ({
  pid,
  ready: true,
  body: {},
  state: state(overrides),
});

describe(workerAgreement.name, () => {
  it('agrees when every worker serves the same certificate and enforces the same revision', () => {
    expect(workerAgreement([worker(1), worker(2, { certificateSince: at(3) })], NOW)).toEqual({
      converged: true,
      disagreeingForMs: 0,
    });
  });

  it('dates a certificate disagreement from when the last worker moved, and names who holds what', () => {
    const workers = [
      worker(11, { fingerprint256: 'BB:BB', certificateSince: at(7) }),
      worker(12),
      worker(13, { fingerprint256: 'BB:BB', certificateSince: at(6.5) }),
    ];
    expect(workerAgreement(workers, NOW)).toEqual({
      converged: false,
      disagreeingForMs: 6_500,
      message:
        'workers disagree for 6.5 s (readiness fails after 5 s): workers 11, 13 serve certificate BB:BB and ' +
        'enforce policy revision r1; worker 12 serves certificate AA:AA and enforces policy revision r1',
    });
  });

  it('dates a policy disagreement from the policy, not from an older certificate change', () => {
    const workers = [worker(1, { policyRevision: 'r2', policySince: at(2) }), worker(2)];
    expect(workerAgreement(workers, NOW)).toMatchObject({ converged: false, disagreeingForMs: 2_000 });
  });

  it('leaves out workers that did not say what they hold; their not answering fails readiness on its own', () => {
    const silent: WorkerReadiness = { pid: 3, ready: false, body: 'no answer within 2 s' };
    expect(workerAgreement([worker(1), silent], NOW)).toEqual({ converged: true, disagreeingForMs: 0 });
  });
});
