import { spawnSync } from 'node:child_process';
import { BOUNCER_BIN } from './bouncer-process';

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a one-shot command of the built CLI to completion, as a user or CI job would, from the
 * repository root (so relative paths in its output are stable), with a clean BOUNCER_* environment.
 */
export function runCli(
  args: readonly string[],
  options: {
    input?: string;
    env?: Record<string, string>;
    cwd?: string;
    /** Run as this user and group (the test must be root), as a container or a systemd unit would. */
    as?: { uid: number; gid: number };
  } = {},
): CliRun {
  const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BOUNCER_')));
  const result = spawnSync(process.execPath, [BOUNCER_BIN, ...args], {
    cwd: options.cwd,
    ...options.as,
    input: options.input ?? '',
    env: { ...cleanEnv, ...options.env, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
