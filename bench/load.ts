import autocannon from 'autocannon';
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
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
  payload: BenchPayload,
  rate: number,
  seconds: number,
  warmupSeconds = 1,
): Promise<FixedRateResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64, rejectUnauthorized: false });
  const body = Buffer.from(payload.body);
  const latencies: number[] = [];
  let failed = 0;
  // The first second opens the keep-alive connections (TLS handshakes) at the same rate, unrecorded.
  const warmup = rate * warmupSeconds;
  const total = warmup + rate * seconds;
  const inFlight: Promise<void>[] = [];

  const send = (recorded: boolean): Promise<void> =>
    new Promise((resolve) => {
      const sent = process.hrtime.bigint();
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: payload.path,
          method: 'POST',
          agent,
          timeout: REQUEST_TIMEOUT_MS,
          headers: { 'content-type': 'application/json', 'content-length': body.length },
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
      req.end(body);
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
