import { setTimeout as delay } from 'node:timers/promises';
import { TLSSocket, connect } from 'node:tls';
import { TestPki } from '../../support/test-pki';
import { bouncerForSpec } from '../support/bouncer-under-test';
import { apiserverTls, keepAliveAgent, oneShotAgent } from '../support/review-client';
import { describeFailures, failures, refusals, runLoad } from '../support/review-load';
import { defaultPolicyMix } from '../support/review-mix';
import { latencySummary, recordResults } from '../support/results';
import { scaled } from '../support/robust-mode';

const CONNECTIONS = 500;
const HOLD_MS = scaled(15_000, 60_000);
const TRICKLE_EVERY_MS = 2_000;
/**
 * The server's headersTimeout (10 s) and requestTimeout (30 s) are enforced by Node's connection
 * check, which runs every 30 s; a slow client is closed by 60 s, and we wait a little longer.
 */
const CLOSED_WITHIN_MS = 75_000;

/** A client that opens a connection, starts a review, and never finishes it. */
interface SlowClient {
  readonly kind: 'headers' | 'body';
  readonly openedAt: number;
  closedAt?: number;
  received: string;
}

function openSlowClient(pki: TestPki, port: number, kind: SlowClient['kind']): Promise<SlowClient> {
  return new Promise((resolve, reject) => {
    const client: SlowClient = { kind, openedAt: Date.now(), received: '' };
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, ...apiserverTls(pki) }, () => {
      // headers: the request line and one header, then one more header line now and then.
      // body: complete headers announcing 100 kB, then one byte of body now and then.
      socket.write(
        kind === 'headers'
          ? 'POST /image_policy HTTP/1.1\r\nHost: 127.0.0.1\r\n'
          : 'POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{',
      );
      resolve(client);
    });
    const trickle = setInterval(
      () => socket.write(kind === 'headers' ? 'X-Slow: 1\r\n' : ' '),
      TRICKLE_EVERY_MS,
    );
    socket.on('data', (chunk: Buffer) => (client.received += chunk.toString()));
    socket.on('error', (error: Error) => {
      if (client.closedAt === undefined && client.received === '') reject(error);
    });
    socket.on('close', () => {
      clearInterval(trickle);
      client.closedAt = Date.now();
    });
  });
}

const secondsSummary = (values: number[]): Record<string, number> => {
  const sorted = [...values].sort((a, b) => a - b);
  const s = (ms: number): number => Math.round(ms / 100) / 10;
  return { min: s(sorted[0]), median: s(sorted[sorted.length >> 1]), max: s(sorted[sorted.length - 1]) };
};

/**
 * 500 connections that start a review and never finish it must not keep the apiserver's reviews
 * from being answered, and the server must close them itself.
 */
describe('fault: a slowloris client holding 500 connections', () => {
  const spec = bouncerForSpec();

  it(
    'goes on answering reviews on old and new connections, and closes every slow one with a 408',
    async () => {
      const { pki, bouncer } = spec;
      const slow: SlowClient[] = [];
      for (let i = 0; i < CONNECTIONS; i += 50) {
        slow.push(
          ...(await Promise.all(
            Array.from({ length: 50 }, (_, j) =>
              openSlowClient(pki, bouncer.port, (i + j) % 2 === 0 ? 'headers' : 'body'),
            ),
          )),
        );
      }
      const heldAtStart = slow.filter((c) => c.closedAt === undefined).length;

      const agent = keepAliveAgent(pki, 4);
      const oneShot = oneShotAgent(pki);
      const run = await runLoad({
        port: bouncer.port,
        rate: 100,
        durationMs: HOLD_MS,
        cases: defaultPolicyMix(),
        agent,
        oneShot: { agent: oneShot, every: 3 },
      });
      agent.destroy();
      oneShot.destroy();
      const heldThroughLoad = slow.filter((c) => c.closedAt === undefined).length;

      const deadline = Date.now() + CLOSED_WITHIN_MS;
      while (slow.some((c) => c.closedAt === undefined) && Date.now() < deadline) await delay(250);

      const closedIn = (kind: SlowClient['kind']): number[] =>
        slow.filter((c) => c.kind === kind && c.closedAt !== undefined).map((c) => c.closedAt! - c.openedAt);
      recordResults('faultSlowloris', {
        slowConnections: CONNECTIONS,
        heldAtStart,
        heldThroughLoad,
        holdSeconds: HOLD_MS / 1000,
        reviewsDuringHold: run.records.length,
        failures: describeFailures([...failures(run), ...refusals(run)]),
        latencyDuringHoldMs: latencySummary(run.serviceMs),
        closedByServerAfterSeconds: {
          headers: secondsSummary(closedIn('headers')),
          body: secondsSummary(closedIn('body')),
        },
        firstBytesSent: [...new Set(slow.map((c) => c.received.split('\r\n')[0]))],
      });

      expect(heldAtStart).toBe(CONNECTIONS);
      expect(describeFailures([...failures(run), ...refusals(run)])).toEqual([]);
      expect(slow.filter((c) => c.closedAt === undefined).length).toBe(0);
      expect([...new Set(slow.map((c) => c.received.split('\r\n')[0]))]).toEqual([
        'HTTP/1.1 408 Request Timeout',
      ]);
      expect(bouncer.running()).toBe(true);
    },
    HOLD_MS + CLOSED_WITHIN_MS + 60_000,
  );
});
