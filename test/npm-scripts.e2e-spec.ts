import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { freePort } from './support/bouncer-process';
import { eventually } from './support/eventually';

const REPOSITORY = join(__dirname, '..');
const PACKAGE = JSON.parse(readFileSync(join(REPOSITORY, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  scripts: Record<string, string>;
};

const isExecutable = (path: string): boolean => (statSync(path).mode & 0o111) === 0o111;

/** Whether a process is still there (signal 0 only asks). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("the package's scripts", () => {
  it('rebuild only through `npm run build`, which makes the bin executable again', () => {
    // `nest build` empties dist/ and writes files without an execute bit; `npm install -g .` links
    // the clone, so a bin rebuilt without the bit answers "Permission denied".
    const rebuilding = Object.entries(PACKAGE.scripts).filter(([, script]) => /\bnest build\b/.test(script));
    expect(rebuilding.map(([name]) => name)).toEqual(['build']);
    expect(PACKAGE.scripts.build).toBe('nest build && node scripts/finish-build.js');
    expect(PACKAGE.scripts.prepack).toBe('npm run build');
    expect(PACKAGE.scripts.start).toMatch(/^npm run build && /);
  });

  it('leave the built bin executable (the e2e tier built dist/ as `npm run build` does)', () => {
    for (const path of Object.values(PACKAGE.bin)) expect(isExecutable(join(REPOSITORY, path))).toBe(true);
  });
});

/**
 * `npm start`, as the README's Quick start runs it, in a copy of the repository (it rebuilds
 * dist/, which the other specs are running), with node_modules shared.
 */
describe('npm start (the Quick start), in a copy of the repository', () => {
  const copy = mkdtempSync(join(tmpdir(), 'kib-npm-start-'));
  let npm: ChildProcess;
  let output = '';
  let port: number;
  let healthPort: number;
  /** The server's primary and workers, once known: whatever outlives the test is killed after it. */
  let server: number[] = [];

  beforeAll(async () => {
    for (const entry of [
      'src',
      'scripts',
      'package.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'nest-cli.json',
    ])
      cpSync(join(REPOSITORY, entry), join(copy, entry), { recursive: true });
    symlinkSync(join(REPOSITORY, 'node_modules'), join(copy, 'node_modules'));
    [port, healthPort] = [await freePort(), await freePort()];
    npm = spawn(
      'npm',
      [
        'start',
        '--',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--health-port',
        String(healthPort),
        '--workers',
        '2',
      ],
      { cwd: copy, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    npm.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually(
      'npm start to serve',
      async () => {
        if (npm.exitCode !== null) throw new Error(`npm start exited ${npm.exitCode}:\n${output}`);
        await request(`http://127.0.0.1:${healthPort}`).get('/readyz').expect(200);
      },
      { timeoutMs: 150_000 },
    );
  }, 180_000);

  afterAll(() => {
    if (npm.exitCode === null) npm.kill('SIGKILL');
    for (const pid of server.filter(alive)) process.kill(pid, 'SIGKILL');
    npm.stdout!.destroy();
    npm.stderr!.destroy();
    rmSync(copy, { recursive: true, force: true });
  });

  it('rebuilds a bin that runs through a link, as `npm install -g .` makes one', () => {
    const bin = join(copy, PACKAGE.bin['kube-image-bouncer']);
    expect(isExecutable(bin)).toBe(true);
    const link = join(mkdtempSync(join(tmpdir(), 'kib-bin-')), 'kube-image-bouncer');
    symlinkSync(bin, link);
    expect(spawnSync(link, ['version'], { encoding: 'utf8' })).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(/^version +0\.1\.0\n/),
    });
  });

  it("stops the server and its workers when npm's PID is sent SIGTERM", async () => {
    const { workers } = (await request(`http://127.0.0.1:${healthPort}`).get('/readyz')).body as {
      workers: { pid: number }[];
    };
    const primary = Number(/"pid":(\d+),"address"/.exec(output)![1]);
    const processes = (server = [primary, ...workers.map(({ pid }) => pid)]);
    expect(processes).toHaveLength(3);
    const npmExited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    npm.kill('SIGTERM');
    await npmExited;
    await eventually('the server and its workers to exit', () =>
      processes.some(alive)
        ? Promise.reject(new Error(`still running: ${processes.filter(alive).join(', ')}`))
        : Promise.resolve(),
    );
    expect(output).toContain('SIGTERM received: stopped accepting connections');
  });
});
