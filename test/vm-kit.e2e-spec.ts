import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { freePort, loopbackListenerArgs } from './support/bouncer-process';
import { eventually } from './support/eventually';
import { codeBlocks, readmeSection } from './support/readme';

const REPOSITORY = join(__dirname, '..');
const SECTION = readmeSection('Deploying: a container on a dedicated VM', 'docs/deploying.md');
const [CONTAINER_STEPS, NODE_STEPS] = codeBlocks(SECTION, 'sh');

/** `Key=value` lines of a systemd unit, continuation lines joined. */
const unitSettings = (path: string): { key: string; value: string }[] =>
  readFileSync(join(REPOSITORY, path), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => /^([A-Za-z]+)=(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(([, key, value]) => ({ key, value }));
const environmentOf = (settings: { key: string; value: string }[]): Record<string, string> =>
  Object.fromEntries(
    settings.filter(({ key }) => key === 'Environment').map(({ value }) => value.split(/=(.*)/s).slice(0, 2)),
  ) as Record<string, string>;

/**
 * A scratch machine for the VM kit's steps: a root under which /etc and /opt are made, a working
 * directory with the clone's files the steps name, and on the PATH the programs the steps run that
 * would change the real machine or need a network: systemctl and groupadd record what they are
 * asked, npm installs from the clone's node_modules, and docker records its arguments. The steps
 * run as written but for the paths under the scratch root.
 */
class ScratchMachine {
  readonly root = mkdtempSync(join(tmpdir(), 'kib-vm-root-'));
  readonly work = join(this.root, 'work');
  readonly bin = join(this.root, 'stub-bin');
  readonly calls = join(this.root, 'calls');

  constructor() {
    mkdirSync(this.work);
    mkdirSync(this.bin);
    // What a machine with systemd has before any step: the steps must make everything else.
    mkdirSync(join(this.root, 'etc', 'systemd', 'system'), { recursive: true });
    for (const entry of ['examples', 'deploy']) symlinkSync(join(REPOSITORY, entry), join(this.work, entry));
    const stub = (name: string, script: string): void => {
      writeFileSync(join(this.bin, name), `#!/bin/sh\n${script}\n`);
      chmodSync(join(this.bin, name), 0o755);
    };
    const record = `echo "$(basename "$0") $*" >> ${this.calls}`;
    stub('systemctl', record);
    stub('docker', record);
    // The group groupadd would make: setup gives server.key to it by name, from /etc/group.
    stub('groupadd', record);
    const group = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();
    stub(
      'kube-image-bouncer',
      `exec "${process.execPath}" "${join(REPOSITORY, 'dist', 'main.js')}" $(echo "$@" | sed 's/--group kube-image-bouncer/--group ${group}/')`,
    );
    // `npm pack` has made the tarball already (below); `npm install --prefix DIR` links the clone's dependencies.
    stub(
      'npm',
      `${record}\ncase "$1" in\n  pack) ;;\n  install) ln -s "${join(REPOSITORY, 'node_modules')}" "$3/node_modules" ;;\nesac`,
    );
  }

  /** The path a step's absolute path lands on, under the scratch root. */
  at(path: string): string {
    return join(this.root, path);
  }

  run(steps: string): { status: number | null; output: string } {
    const rooted = steps.replace(/(^|\s)\/(etc|opt)\//g, `$1${this.root}/$2/`);
    const result = spawnSync('bash', ['-euo', 'pipefail', '-c', rooted], {
      cwd: this.work,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${this.bin}:${process.env.PATH ?? ''}` },
      timeout: 120_000,
    });
    return { status: result.status, output: result.stdout + result.stderr };
  }

  recorded(): string[] {
    return existsSync(this.calls) ? readFileSync(this.calls, 'utf8').trim().split('\n') : [];
  }
}

describe("the VM kit's steps (docs/deploying.md), under a scratch root", () => {
  let bouncer: ChildProcess | undefined;
  afterEach(async () => {
    if (bouncer && bouncer.exitCode === null) {
      const exited = new Promise((resolve) => bouncer!.once('exit', resolve));
      bouncer.kill('SIGTERM');
      await exited;
    }
    bouncer = undefined;
  });

  /** Runs `node MAIN serve` as the unit would, from the files the steps made, until it is ready. */
  const serveFrom = async (main: string, environment: Record<string, string>): Promise<void> => {
    const [port, healthPort] = [await freePort(), await freePort()];
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !key.startsWith('BOUNCER_')),
    );
    let output = '';
    bouncer = spawn(process.execPath, [main, 'serve', ...loopbackListenerArgs(port, healthPort)], {
      env: { ...clean, ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    bouncer.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    bouncer.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually('the bouncer to be ready on the files the steps made', async () => {
      if (bouncer!.exitCode !== null) throw new Error(`exited:\n${output}`);
      await request(`http://127.0.0.1:${healthPort}`).get('/readyz').expect(200);
    });
  };

  it('are two blocks: the container, and node without a container engine', () => {
    expect(CONTAINER_STEPS).toContain(
      'install -m 0644 deploy/vm/kube-image-bouncer.service /etc/systemd/system/',
    );
    expect(NODE_STEPS).toContain(
      'install -m 0644 deploy/vm/kube-image-bouncer-node.service /etc/systemd/system/',
    );
  });

  it('make every directory and file the container unit mounts, from which the bouncer serves', async () => {
    const machine = new ScratchMachine();
    const { status, output } = machine.run(CONTAINER_STEPS);
    expect(status === 0 ? 'exit status 0' : output).toBe('exit status 0');
    expect(machine.recorded()).toEqual([
      'systemctl daemon-reload',
      'systemctl enable --now kube-image-bouncer',
    ]);
    expect(existsSync(machine.at('etc/systemd/system/kube-image-bouncer.service'))).toBe(true);

    const settings = unitSettings('deploy/vm/kube-image-bouncer.service');
    // The unit runs `docker` as systemd finds it (its search path, like a shell's PATH), no fixed path.
    for (const { key, value } of settings.filter(({ key }) => key.startsWith('Exec')))
      expect(`${key}=${value}`).toMatch(/^Exec\w+=-?docker /);
    const start = settings.find(({ key }) => key === 'ExecStart')!.value;
    const volumes = [...start.matchAll(/--volume (\S+?):(\S+?):ro/g)].map(([, host, container]) => ({
      host,
      container,
    }));
    expect(volumes.length).toBeGreaterThanOrEqual(2);
    for (const { host } of volumes) expect(statSync(machine.at(host)).isDirectory()).toBe(true);
    const inContainer = Object.fromEntries(
      [...start.matchAll(/--env (BOUNCER_\w+)=(\/\S+)/g)].map(([, name, path]) => {
        const volume = volumes.find(({ container }) => path.startsWith(`${container}/`))!;
        return [name, machine.at(volume.host + path.slice(volume.container.length))];
      }),
    );
    expect(Object.keys(inContainer).sort()).toEqual([
      'BOUNCER_CERTIFICATE',
      'BOUNCER_CLIENT_CA',
      'BOUNCER_KEY',
      'BOUNCER_POLICY',
    ]);
    // The key is the container's group's: uid and gid 65532 read it through the group bits.
    expect(statSync(inContainer.BOUNCER_KEY).mode & 0o777).toBe(0o640);
    // The image's entrypoint is node dist/main.js, which the clone's build is.
    await serveFrom(join(REPOSITORY, 'dist', 'main.js'), inContainer);
  });

  it('make every directory and file the node unit uses, from which its ExecStart serves', async () => {
    const machine = new ScratchMachine();
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', machine.work], {
      cwd: REPOSITORY,
      stdio: 'ignore',
      timeout: 120_000,
    });
    const { status, output } = machine.run(NODE_STEPS);
    expect(status === 0 ? 'exit status 0' : output).toBe('exit status 0');
    expect(machine.recorded()).toEqual([
      'groupadd --system kube-image-bouncer',
      'npm pack',
      'npm install --prefix /opt/kube-image-bouncer --omit=dev --no-audit --no-fund'.replace(
        '/opt/',
        `${machine.root}/opt/`,
      ),
      'systemctl daemon-reload',
      'systemctl enable --now kube-image-bouncer-node',
    ]);
    const settings = unitSettings('deploy/vm/kube-image-bouncer-node.service');
    const value = (key: string): string => settings.find((setting) => setting.key === key)!.value;
    expect(statSync(machine.at(value('WorkingDirectory'))).isDirectory()).toBe(true);
    const environment = Object.fromEntries(
      Object.entries(environmentOf(settings)).map(([name, path]) => [
        name,
        path.startsWith('/') ? machine.at(path) : path,
      ]),
    );
    for (const name of ['BOUNCER_CERTIFICATE', 'BOUNCER_KEY', 'BOUNCER_CLIENT_CA', 'BOUNCER_POLICY'])
      expect(statSync(environment[name]).isFile()).toBe(true);
    const [node, main, command] = value('ExecStart').split(' ');
    expect([node, command]).toEqual(['/usr/bin/node', 'serve']);
    // The package the steps unpacked, with the dependencies installed beside it.
    await serveFrom(machine.at(main), environment);
  });
});
