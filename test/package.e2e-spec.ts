import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPOSITORY = join(__dirname, '..');
const npm = (args: string[], cwd = REPOSITORY): string =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });

/**
 * What `npm pack` makes of the repository installs, with `npm install -g`, into a clean prefix and
 * works there: the bin is on the prefix's PATH and needs nothing of the clone. The runtime
 * dependencies come from the npm registry (or npm's cache). `dist/` is the one the e2e tier built;
 * --ignore-scripts keeps prepack from rebuilding it under the other specs' feet.
 */
describe('the npm package', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'kube-image-bouncer-package-'));
  const prefix = join(scratch, 'prefix');
  let files: string[];
  let tarball: string;

  beforeAll(() => {
    const [packed] = JSON.parse(
      npm(['pack', '--ignore-scripts', '--json', '--pack-destination', scratch]),
    ) as { filename: string; files: { path: string }[] }[];
    files = packed.files.map((file) => file.path);
    tarball = join(scratch, packed.filename);
    npm(
      ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball],
      scratch,
    );
  }, 300_000);

  const installed = (args: string[]) =>
    spawnSync(join(prefix, 'bin', 'kube-image-bouncer'), args, {
      cwd: join(prefix, 'lib', 'node_modules', 'kube-image-bouncer'),
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}` },
    });

  it('holds the build, the schemas and the examples, and not the sources or tests', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/main.js',
        'dist/build-info.json',
        'dist/health/healthcheck.js',
        'schema/image-policy.schema.json',
        'schema/image-policy-test.schema.json',
        'examples/image-policy.yaml',
        'examples/image-policy.test.yaml',
      ]),
    );
    expect(files.filter((file) => /^(src|test|scripts|bench|deploy)\/|\.map$|\.ts$/.test(file))).toEqual([]);
  });

  it('installs a bin that runs: version names the commit the package was built from', () => {
    const run = installed(['version', '-o', 'json']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPOSITORY, encoding: 'utf8' }).trim();
    expect(JSON.parse(run.stdout)).toMatchObject({ version: '0.1.0', commit });
  });

  it('runs the example policy tests and checks a manifest from the installed package', () => {
    expect(installed(['test', 'examples/'])).toMatchObject({ status: 0, stderr: '' });
    expect(installed(['check', '-f', 'examples/manifests/storefront.yaml']).status).toBe(1);
  });
});
