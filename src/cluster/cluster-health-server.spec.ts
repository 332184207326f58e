import type { ServingStateSnapshot } from '../health/serving-state';
import { ClusterHealth, clusterAnswers } from './cluster-health-server';
import { WorkerReadiness } from './worker-agreement';

describe(clusterAnswers.name, () => {
  const since = (secondsAgo: number): string => new Date(Date.now() - secondsAgo * 1000).toISOString();
  const state = (fingerprint256: string, certificateSince = since(60)): ServingStateSnapshot => ({
    fingerprint256,
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter: '2036-01-01T00:00:00.000Z',
    certificateSince,
    policyRevision: 'r1',
    policySince: since(60),
  });
  const body = { status: 'ok', info: { tls: { status: 'up' } }, error: {}, details: {} };
  const readyz = async (
    workers: WorkerReadiness[],
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    const health: ClusterHealth = {
      listening: () => workers.length,
      readiness: () => Promise.resolve(workers),
      metrics: () => Promise.reject(new Error('not asked')),
    };
    const answer = await clusterAnswers(health)('GET', '/readyz');
    return { status: answer.status, body: JSON.parse(answer.text) as Record<string, unknown> };
  };

  it('is not ready while workers of its first start are still starting, though one already serves', async () => {
    const workers: WorkerReadiness[] = [{ pid: 10, ready: true, body, state: state('AA') }];
    const health: ClusterHealth = {
      listening: () => workers.length,
      starting: () => 1,
      readiness: () => Promise.resolve(workers),
      metrics: () => Promise.reject(new Error('not asked')),
    };
    const answer = await clusterAnswers(health)('GET', '/readyz');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.text)).toMatchObject({
      status: 'error',
      message: 'starting: 1 of its workers not serving yet',
    });
  });

  it('lists every worker with what it serves and enforces, and is ready when they agree', async () => {
    const answer = await readyz([
      { pid: 10, ready: true, body, state: state('AA') },
      { pid: 11, ready: true, body, state: state('AA') },
    ]);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'ok', converged: true, info: body.info });
    expect(answer.body.message).toBeUndefined();
    expect(answer.body.workers).toEqual([
      {
        pid: 10,
        ready: true,
        fingerprint256: 'AA',
        notAfter: '2036-01-01T00:00:00.000Z',
        policyRevision: 'r1',
        certificateSince: expect.any(String),
        policySince: expect.any(String),
      },
      expect.objectContaining({ pid: 11, fingerprint256: 'AA' }),
    ]);
  });

  it('stays ready while workers part for less than 5 s, and says so', async () => {
    const answer = await readyz([
      { pid: 10, ready: true, body, state: state('AA') },
      { pid: 11, ready: true, body, state: state('BB', since(1)) },
    ]);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'ok', converged: false });
    expect(answer.body.disagreement).toMatch(/^workers disagree for 1\.\d s \(readiness fails after 5 s\): /);
  });

  it('fails readiness when workers have disagreed for longer than 5 s, naming them and what they hold', async () => {
    const answer = await readyz([
      { pid: 10, ready: true, body, state: state('AA') },
      { pid: 11, ready: true, body, state: state('BB', since(6)) },
    ]);
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ status: 'error', converged: false });
    expect(answer.body.message).toMatch(
      /^workers disagree for 6\.\d s \(readiness fails after 5 s\): worker 10 serves certificate AA and enforces policy revision r1; worker 11 serves certificate BB and enforces policy revision r1$/,
    );
  });

  it('fails readiness when a worker is not ready, with its reason', async () => {
    const answer = await readyz([
      { pid: 10, ready: true, body, state: state('AA') },
      { pid: 11, ready: false, body: 'no answer within 2 s' },
    ]);
    expect(answer.status).toBe(503);
    expect(answer.body.message).toBe('worker 11: no answer within 2 s');
  });
});
