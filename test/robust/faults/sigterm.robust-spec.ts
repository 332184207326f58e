import { connect } from 'node:tls';
import { setTimeout as delay } from 'node:timers/promises';
import { bouncerForSpec } from '../support/bouncer-under-test';
import {
  Exchange,
  apiserverTls,
  keepAliveAgent,
  oneShotAgent,
  trickledReview,
} from '../support/review-client';
import { LoadRun, describeFailures, failures, refusals, rightAnswers, runLoad } from '../support/review-load';
import { admissionReviewCase, bulkyPodSpec, defaultPolicyMix, imageReviewCase } from '../support/review-mix';
import { recordResults } from '../support/results';
import { scaled } from '../support/robust-mode';

const RATE = 300;
const SIGNAL_AT_MS = scaled(3_000, 10_000);
/** Requests sent once the bouncer has exited, each of which must be refused cleanly. */
const SENT_AFTER_EXIT = 50;

/**
 * SIGTERM while the apiserver is sending reviews. What counts as failed: a review answered wrongly
 * or with a 5xx, or a connection reset after its TLS handshake (the server may have seen the
 * request, so the client cannot know whether to retry). A connection refused, or closed before
 * its handshake completed, is the expected way to say "not here any more": nothing was sent.
 */
describe('fault: SIGTERM during load', () => {
  const spec = bouncerForSpec();

  it('finishes the reviews in flight, refuses new connections cleanly, and exits 0', async () => {
    const { pki, bouncer } = spec;
    const agent = keepAliveAgent(pki, 16);
    const oneShot = oneShotAgent(pki);
    let signalledAtMs = Number.POSITIVE_INFINITY;
    // The load runs until it has sent some requests after the exit, however long the machine takes
    // to get there: a fixed duration would assert the pace of this client instead.
    let sentAtExit: number | undefined;
    let sentSoFar = 0;
    void bouncer.exited.then(() => (sentAtExit = sentSoFar));
    const inFlight: Promise<Exchange>[] = [];
    const slowAllowed = imageReviewCase('trickled, allowed', ['nginx:1.25'], true);
    const slowDenied = admissionReviewCase(
      'trickled 5 MiB, denied',
      { podSpec: bulkyPodSpec('nginx', 5 * 2 ** 20) },
      false,
    );

    const load = runLoad({
      port: bouncer.port,
      rate: RATE,
      durationMs: 600_000,
      until: (sent) => {
        sentSoFar = sent;
        return sentAtExit !== undefined && sent >= sentAtExit + SENT_AFTER_EXIT;
      },
      cases: defaultPolicyMix(),
      agent,
      oneShot: { agent: oneShot, every: 4 },
      onStart: (clock) => {
        void (async () => {
          // Reviews whose bodies are still arriving when the signal comes: they must be answered.
          await delay(SIGNAL_AT_MS - 500);
          inFlight.push(trickledReview(pki, bouncer.port, slowAllowed.path, slowAllowed.body, 20, 75));
          inFlight.push(trickledReview(pki, bouncer.port, slowDenied.path, slowDenied.body, 20, 75));
          await delay(500);
          signalledAtMs = clock();
          bouncer.child.kill('SIGTERM');
        })();
      },
    });
    const run: LoadRun = await load;
    const exit = await bouncer.exited;
    const slow = await Promise.all(inFlight);
    agent.destroy();
    oneShot.destroy();

    const afterExit = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: bouncer.port, ...apiserverTls(pki) });
      socket.once('secureConnect', () => resolve('connected'));
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });

    const beforeSignal = run.records.filter((r) => r.sentMs < signalledAtMs);
    const afterSignal = run.records.filter((r) => r.sentMs >= signalledAtMs);
    recordResults('faultSigterm', {
      requests: run.sent,
      skippedByTheClient: run.skipped,
      sentBeforeSignal: beforeSignal.length,
      sentAfterSignal: afterSignal.length,
      answeredAfterSignal: afterSignal.filter((r) => r.outcome === 'right').length,
      refusedAfterSignal: afterSignal.filter((r) => r.outcome === 'refused').length,
      refusalCodes: [...new Set(refusals(run).map((r) => r.detail))],
      failures: describeFailures(failures(run)),
      trickledReviews: slow.map((e) => (e.kind === 'response' ? e.status : e.kind)),
      exit,
    });

    expect(describeFailures(failures(run))).toEqual([]);
    expect(run.records).toHaveLength(run.sent);
    // Until the trickled reviews start, half a second before the signal, nothing may be refused.
    const wellBefore = run.records.filter((r) => r.sentMs < SIGNAL_AT_MS - 500);
    expect(describeFailures(wellBefore.filter((r) => r.outcome !== 'right'))).toEqual([]);
    expect([slowAllowed.judge(slow[0]), slowDenied.judge(slow[1])]).toEqual([undefined, undefined]);
    expect(afterSignal.filter((r) => r.outcome === 'refused').length).toBeGreaterThan(0);
    expect(rightAnswers(run).length).toBeGreaterThan(0);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(afterExit).toBe('ECONNREFUSED');
  });
});
