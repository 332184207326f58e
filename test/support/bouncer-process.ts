import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

// From the source tree (jest), or from the bench's build of it in .bench-build/test/ (bench:apiserver).
export const BOUNCER_BIN = join(
  __dirname.replace(/[/\\]\.bench-build(?=[/\\])/, ''),
  '..',
  '..',
  'dist',
  'main.js',
);

export interface BouncerProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
  /** Resolves once stdout contains `text`; rejects if the process exits first. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<number | null>;
}

/** The options that put a bouncer's review and health listeners on loopback ports. */
export const loopbackListenerArgs = (port: number, healthPort: number): string[] => [
  '--host',
  '127.0.0.1',
  '--port',
  String(port),
  '--health-port',
  String(healthPort),
];

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Runs the built CLI as a user would: `node dist/main.js <args>`, with a clean BOUNCER_* environment. */
export function runBouncer(
  args: readonly string[],
  env: Record<string, string> = {},
  /** Run as this user and group (the test must be root), as the container image or a systemd unit would. */
  as?: { uid: number; gid: number },
): BouncerProcess {
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BOUNCER_')));
  const child = spawn(process.execPath, [BOUNCER_BIN, ...args], {
    ...as,
    env: { ...cleanEnv, ...env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer): void => {
    output += chunk.toString();
    listeners.forEach((l) => l());
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  // A guard against a hang, not a pace: a cluster of a primary and two workers took more than 15 s
  // to say it serves on this machine while other test tiers ran beside it (load average about 8).
  const waitFor = (text: string | RegExp, timeoutMs = 45_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const matches = (): boolean => (typeof text === 'string' ? output.includes(text) : text.test(output));
      const timer = setTimeout(
        () => done(new Error(`timed out waiting for ${String(text)}; output:\n${output}`)),
        timeoutMs,
      );
      const check = (): void => {
        if (matches()) done();
      };
      const done = (error?: Error): void => {
        clearTimeout(timer);
        listeners.delete(check);
        if (error) reject(error);
        else resolve();
      };
      listeners.add(check);
      void exited.then((code) =>
        done(matches() ? undefined : new Error(`exited with ${code} before ${String(text)}:\n${output}`)),
      );
      check();
    });

  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };

  return { child, output: () => output, exited, waitFor, stop };
}
