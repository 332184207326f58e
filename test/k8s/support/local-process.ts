import { ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** File in a run directory listing `<name> <pid>` of every process started there, read by orphan-reaper.sh. */
export const PID_FILE = 'pids';

/** Records a process in the run directory, so that the orphan reaper can kill it if this test process dies. */
export function recordPid(runDir: string, name: string, pid: number | undefined): void {
  if (pid === undefined) throw new Error(`${name} did not start`);
  appendFileSync(join(runDir, PID_FILE), `${name} ${pid}\n`);
}

/** One control-plane binary, its output in `<runDir>/<name>.log`. */
export class LocalProcess {
  readonly exited: Promise<number | null>;

  private constructor(
    readonly name: string,
    readonly logPath: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /**
   * Not detached: the child stays in the test run's process group, so a Ctrl-C or a CI runner killing the
   * group reaches it too. A test process that dies alone is covered by orphan-reaper.sh.
   */
  static start(runDir: string, name: string, command: string, args: readonly string[]): LocalProcess {
    const logPath = join(runDir, `${name}.log`);
    const log = openSync(logPath, 'a');
    try {
      const child = spawn(command, args, { stdio: ['ignore', log, log], detached: false });
      recordPid(runDir, name, child.pid);
      return new LocalProcess(name, logPath, child);
    } finally {
      closeSync(log);
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL if it is still running after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const grace = new AbortController();
    const exitedInTime = await Promise.race([
      this.exited.then(() => true),
      delay(graceMs, false, { signal: grace.signal }).catch(() => false),
    ]);
    grace.abort();
    if (!exitedInTime) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
