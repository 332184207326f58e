import autocannon from 'autocannon';
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { BenchPayload } from './payloads';

export interface SaturationResult {
  readonly requestsPerSecond: number;
  readonly errors: number;
}

export interface FixedRateResult {
  readonly rate: number;
  readonly sent: number;
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export const loadGenerator = (): 'wrk' | 'autocannon' => {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return 'wrk';
  } catch (error) {
    // wrk prints its version and exits 1; a missing binary is ENOENT.
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'autocannon' : 'wrk';
  }
};

/**
 * Requests per second with keep-alive TLS connections kept busy. wrk (C) when installed, since it
 * leaves more of the machine to the server; autocannon otherwise. Both servers get the same one.
 */
export async function saturate(
  port: number,
  payload: BenchPayload,
  seconds: number,
  scratch: string,
): Promise<SaturationResult> {
  if (loadGenerator() === 'wrk') {
    const script = join(scratch, 'post.lua');
    writeFileSync(
      script,
      `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(payload.body)}\n`,
    );
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        'wrk',
        ['-t1', '-c16', `-d${seconds}s`, '-s', script, `https://127.0.0.1:${port}${payload.path}`],
        (error, stdout) => (error ? reject(new Error(`wrk failed: ${error.message}`)) : resolve(stdout)),
      ),
    );
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
    const errors = /Non-2xx or 3xx responses: (\d+)/.exec(output);
    return { requestsPerSecond: Number(rps?.[1] ?? 0), errors: Number(errors?.[1] ?? 0) };
  }
  const result = await autocannon({
    url: `https://127.0.0.1:${port}${payload.path}`,
    method: 'POST',
    connections: 16,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    body: payload.body,
  });
  return { requestsPerSecond: result.requests.average, errors: result.non2xx + result.errors };
}

/** Any request at a fixed rate: a review by default, or a registry's own HEAD to compare with. */
export interface FixedRateTarget {
  readonly protocol?: 'https' | 'http';
  readonly method: 'POST' | 'HEAD' | 'GET';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

const toTarget = (payload: BenchPayload | FixedRateTarget): FixedRateTarget =>
  'body' in payload && 'name' in payload
    ? {
        method: 'POST',
        path: payload.path,
        body: payload.body,
        headers: { 'content-type': 'application/json' },
      }
    : payload;

/** A request not answered in this time counts as failed, so an overloaded server cannot stall a run. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Latency at a fixed rate, open loop: requests are sent on schedule whether or not earlier ones
 * have finished, so a server that falls behind builds a queue and its latency shows it. The sender
 * sleeps on timers between batches instead of spinning, because on a 2-core machine a spinning
 * client would take the CPU the server needs; latency therefore runs from when a request was sent,
 * not when it was due, leaving the client's own timer jitter out. Timed with hrtime, because
 * autocannon only resolves whole milliseconds.
 */
export async function atFixedRate(
  port: number,
  payload: BenchPayload | FixedRateTarget,
  rate: number,
  seconds: number,
  warmupSeconds = 1,
): Promise<FixedRateResult> {
  const target = toTarget(payload);
  const plain = target.protocol === 'http';
  const agent = plain
    ? new HttpAgent({ keepAlive: true, maxSockets: 64 })
    : new Agent({ keepAlive: true, maxSockets: 64, rejectUnauthorized: false });
  const body = Buffer.from(target.body ?? '');
  const latencies: number[] = [];
  let failed = 0;
  // The first second opens the keep-alive connections (TLS handshakes) at the same rate, unrecorded.
  const warmup = rate * warmupSeconds;
  const total = warmup + rate * seconds;
  const inFlight: Promise<void>[] = [];

  const send = (recorded: boolean): Promise<void> =>
    new Promise((resolve) => {
      const sent = process.hrtime.bigint();
      const req = (plain ? httpRequest : request)(
        {
          host: '127.0.0.1',
          port,
          path: target.path,
          method: target.method,
          agent,
          timeout: REQUEST_TIMEOUT_MS,
          headers: { ...target.headers, ...(body.length > 0 ? { 'content-length': body.length } : {}) },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (recorded && res.statusCode === 200)
              latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
            else if (recorded) failed++;
            resolve();
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', () => {
        if (recorded) failed++;
        resolve();
      });
      req.end(body.length > 0 ? body : undefined);
    });

  const start = Date.now();
  for (let sentCount = 0; sentCount < total;) {
    const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * rate) + 1);
    for (; sentCount < due; sentCount++) inFlight.push(send(sentCount >= warmup));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(inFlight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const quantile = (q: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { rate, sent: total - warmup, failed, p50Ms: quantile(0.5), p99Ms: quantile(0.99) };
}

/** The cores a pinned run uses: the load generator's, and the server's. */
export const PINNED_CORES = { client: 0, server: 1 } as const;

/** Moves every thread of `pids` (V8's and libuv's included) onto `cores`. */
export function pinProcesses(pids: readonly number[], cores: string): void {
  for (const pid of pids)
    execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' });
}

/**
 * atFixedRate from a process pinned to PINNED_CORES.client; the caller pins the server to
 * PINNED_CORES.server (pinProcesses) for the run.
 */
export function atFixedRatePinned(
  port: number,
  payload: BenchPayload | FixedRateTarget,
  rate: number,
  seconds: number,
  scratch: string,
): Promise<FixedRateResult> {
  const target = toTarget(payload);
  const spec = join(scratch, `fixed-rate-${port}.json`);
  writeFileSync(spec, JSON.stringify({ port, target, rate, seconds }));
  return new Promise((resolve, reject) =>
    execFile(
      'taskset',
      ['-c', String(PINNED_CORES.client), process.execPath, join(__dirname, 'fixed-rate-client.js'), spec],
      { maxBuffer: 1 << 20 },
      (error, stdout) =>
        error
          ? reject(new Error(`pinned client failed: ${error.message}`))
          : resolve(JSON.parse(stdout) as FixedRateResult),
    ),
  );
}
