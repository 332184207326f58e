import type { Agent } from 'node:https';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Exchange, postReview } from './review-client';
import { ReviewCase } from './review-mix';

export interface LoadOptions {
  readonly port: number;
  /** Requests per second, sent on schedule whether or not earlier ones were answered (open loop). */
  readonly rate: number;
  readonly durationMs: number;
  readonly cases: readonly ReviewCase[];
  /** Carries most requests, over its keep-alive connections. */
  readonly agent: Agent;
  /** When given, every `oneShotEvery`-th request goes over a fresh connection from this agent. */
  readonly oneShot?: { readonly agent: Agent; readonly every: number };
  /** Ends the load early when it returns true; `sent` is how many requests have been sent so far. */
  readonly until?: (sent: number) => boolean;
  /**
   * Requests outstanding at once; one falling due beyond it is skipped, not queued. A starved client
   * (a busy machine) otherwise queues thousands in its agents and opens hundreds of handshakes at
   * once, each costing it more CPU, until it stalls for minutes and its own timeouts fire: measured,
   * a 5 s event-loop lag with 19,000 requests queued, while the bouncer sat idle. Skipped requests
   * are counted, never judged; a server that stops answering still shows, as the requests in flight
   * time out.
   */
  readonly maxInFlight?: number;
  /** Called once the load has started, with the ms-since-start clock it records times on. */
  readonly onStart?: (clock: () => number) => void;
}

/**
 * One request of a run: when it was due (ms from the start), what it was, and how it ended. Response
 * bodies are judged and dropped, so that a long run does not weigh on the client's memory and GC.
 */
export interface LoadRecord {
  readonly dueMs: number;
  /** When it was actually sent, ms from the start. */
  readonly sentMs: number;
  readonly caseName: string;
  readonly outcome: 'right' | 'wrong' | Exclude<Exchange['kind'], 'response'>;
  /** What was wrong, or the error code of a refused or failed request. */
  readonly detail?: string;
  readonly reusedSocket?: boolean;
}

export interface LoadRun {
  /** One per request sent: every request sent has an outcome. */
  readonly records: readonly LoadRecord[];
  readonly sent: number;
  /** Fell due while `maxInFlight` requests were outstanding, and were not sent. */
  readonly skipped: number;
  readonly elapsedMs: number;
  /** Time from sending to the end of the response, for right answers. */
  readonly serviceMs: number[];
  /** Time from when the request was due, so that a stalled client does not hide a stalled server. */
  readonly dueToDoneMs: number[];
}

export const rightAnswers = (run: LoadRun): LoadRecord[] => run.records.filter((r) => r.outcome === 'right');

/** Everything that is neither a right answer nor a clean refusal. */
export const failures = (run: LoadRun): LoadRecord[] =>
  run.records.filter((r) => r.outcome === 'failed' || r.outcome === 'wrong');

export const refusals = (run: LoadRun): LoadRecord[] => run.records.filter((r) => r.outcome === 'refused');

/** A readable list of what went wrong, grouped, for assertion messages. */
export function describeFailures(records: readonly LoadRecord[]): string[] {
  const counts = new Map<string, number>();
  for (const r of records) {
    const what =
      r.outcome === 'wrong'
        ? (r.detail ?? r.caseName)
        : `${r.caseName}: ${r.outcome} (${r.detail}${r.reusedSocket ? ', on a reused connection' : ''})`;
    counts.set(what, (counts.get(what) ?? 0) + 1);
  }
  return [...counts].map(([what, n]) => `${n} × ${what}`);
}

const MAX_IN_FLIGHT = 64;

/** Sends the cases round-robin at a fixed rate, as far as the client keeps up, and records every outcome. */
export async function runLoad(options: LoadOptions): Promise<LoadRun> {
  const records: LoadRecord[] = [];
  const serviceMs: number[] = [];
  const dueToDoneMs: number[] = [];
  const inFlight = new Set<Promise<void>>();
  const intervalMs = 1000 / options.rate;
  const start = performance.now();

  const send = (index: number): void => {
    const dueAt = start + index * intervalMs;
    const reviewCase = options.cases[index % options.cases.length];
    const oneShot = options.oneShot && index % options.oneShot.every === 0;
    const sentMs = performance.now() - start;
    const done = postReview({
      agent: oneShot ? options.oneShot.agent : options.agent,
      port: options.port,
      path: reviewCase.path,
      body: reviewCase.body,
    }).then((exchange) => {
      const base = { dueMs: dueAt - start, sentMs, caseName: reviewCase.name };
      if (exchange.kind === 'response') {
        const wrong = reviewCase.judge(exchange);
        records.push({ ...base, outcome: wrong === undefined ? 'right' : 'wrong', detail: wrong });
        if (wrong === undefined) {
          serviceMs.push(exchange.ms);
          dueToDoneMs.push(performance.now() - dueAt);
        }
      } else {
        records.push({
          ...base,
          outcome: exchange.kind,
          detail: exchange.code,
          reusedSocket: exchange.kind === 'failed' ? exchange.reusedSocket : undefined,
        });
      }
      inFlight.delete(done);
    });
    inFlight.add(done);
  };

  options.onStart?.(() => performance.now() - start);
  const maxInFlight = options.maxInFlight ?? MAX_IN_FLIGHT;
  let next = 0;
  let sent = 0;
  let skipped = 0;
  for (;;) {
    const elapsed = performance.now() - start;
    if (elapsed >= options.durationMs || options.until?.(sent)) break;
    const due = Math.floor(elapsed / intervalMs) + 1;
    for (; next < due; next++) {
      if (inFlight.size >= maxInFlight) {
        skipped++;
        continue;
      }
      send(next);
      sent++;
    }
    await delay(Math.max(1, start + next * intervalMs - performance.now()));
  }
  await Promise.all(inFlight);
  return { records, sent, skipped, elapsedMs: performance.now() - start, serviceMs, dueToDoneMs };
}
