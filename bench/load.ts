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

/**
 * Latency at a fixed rate, open loop: a request is due every 1/rate seconds whether or not earlier
 * ones have finished, and its latency runs from when it was due, so queueing is counted (no
 * coordinated omission). Timed with hrtime, because autocannon only resolves whole milliseconds.
 */
export async function atFixedRate(
  port: number,
  payload: BenchPayload,
  rate: number,
  seconds: number,
): Promise<FixedRateResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 32, rejectUnauthorized: false });
  const body = Buffer.from(payload.body);
  const latencies: number[] = [];
  let failed = 0;
  const total = rate * seconds;
  const intervalNs = BigInt(Math.round(1e9 / rate));
  const start = process.hrtime.bigint();
  const inFlight: Promise<void>[] = [];

  const send = (due: bigint): Promise<void> =>
    new Promise((resolve) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: payload.path,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) latencies.push(Number(process.hrtime.bigint() - due) / 1e6);
            else failed++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        failed++;
        resolve();
      });
      req.end(body);
    });

  for (let i = 0; i < total; i++) {
    const due = start + intervalNs * BigInt(i);
    while (process.hrtime.bigint() < due) await new Promise((r) => setImmediate(r));
    inFlight.push(send(due));
  }
  await Promise.all(inFlight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const quantile = (q: number): number =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { rate, sent: total, failed, p50Ms: quantile(0.5), p99Ms: quantile(0.99) };
}
