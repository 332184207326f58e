/**
 * The fixed-rate load generator as a process of its own, so that it can be pinned to one core
 * (`taskset -c`) while the server under test has the other: p99 at 1,000/s then measures the
 * server, not a client fighting it for CPU. Usage: node fixed-rate-client.js SPEC.json, where the
 * spec holds {port, target, rate, seconds}; prints the FixedRateResult as JSON.
 */
import { readFileSync } from 'node:fs';
import { FixedRateTarget, atFixedRate } from './load';

const { port, target, rate, seconds } = JSON.parse(readFileSync(process.argv[2], 'utf8')) as {
  port: number;
  target: FixedRateTarget;
  rate: number;
  seconds: number;
};
atFixedRate(port, target, rate, seconds).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: unknown) => {
    process.stderr.write(`fixed-rate client failed: ${String(error)}\n`);
    process.exit(1);
  },
);
