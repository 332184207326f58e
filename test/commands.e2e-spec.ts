import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './support/cli-run';

const REPOSITORY = join(__dirname, '..');
const git = (...args: string[]): string =>
  execFileSync('git', args, { cwd: REPOSITORY, encoding: 'utf8' }).trim();

describe('kube-image-bouncer commands', () => {
  describe('refuses a word that names no command, with exit status 2 and the command it meant', () => {
    it.each([
      [['servee'], 'error: unknown command "servee" (did you mean "serve"?)\n'],
      [['chek', '-f', 'x'], 'error: unknown command "chek" (did you mean "check"?)\n'],
      [['verison'], 'error: unknown command "verison" (did you mean "version"?)\n'],
      [
        ['deploy', '--to', 'prod'],
        'error: unknown command "deploy" (commands: serve, check, doctor, explain, review, setup, test, version, completion, help)\n',
      ],
      [
        ['help', 'nosuch'],
        'error: unknown command "nosuch" (commands: serve, check, doctor, explain, review, setup, test, version, completion, help)\n',
      ],
      [['help', 'chek'], 'error: unknown command "chek" (did you mean "check"?)\n'],
    ])('%j', (args, stderr) => {
      expect(runCli(args)).toEqual({ status: 2, stdout: '', stderr });
    });

    it('stops quietly when what reads its output has gone (`check --help | head`)', async () => {
      const child = spawn(process.execPath, ['dist/main.js', 'check', '--help'], {
        cwd: REPOSITORY,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // The reading end closes before the program writes a byte: its write fails with EPIPE.
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const status = await new Promise((resolve) => child.once('close', resolve));
      expect({ status, stderr }).toEqual({ status: 0, stderr: '' });
    });

    it('doctor exits 2 when it has no cluster to ask, naming why, and loads no kubeconfig it was not given', () => {
      const missing = join(REPOSITORY, 'no-such-kubeconfig');
      expect(runCli(['doctor', '--kubeconfig', missing])).toEqual({
        status: 2,
        stdout: '',
        stderr: `kube-image-bouncer: --kubeconfig: no such file ${JSON.stringify(missing)}\n`,
      });
      expect(
        runCli(['doctor'], { env: { KUBECONFIG: missing, HOME: join(REPOSITORY, 'no-such-home') } }),
      ).toEqual({
        status: 2,
        stdout: '',
        stderr:
          'kube-image-bouncer: no kubeconfig: give --kubeconfig, set KUBECONFIG, or write ~/.kube/config\n',
      });
    });

    it('says an unknown option in one line, with the option it meant', () => {
      expect(runCli(['--prot', '8443'])).toEqual({
        status: 2,
        stdout: '',
        stderr: "error: unknown option '--prot' (did you mean --port?)\n",
      });
    });
  });

  describe('version', () => {
    const commit = git('rev-parse', 'HEAD');
    const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';

    it('prints the version, the commit of the build, Node.js and the image-reference grammar', () => {
      expect(runCli(['version'])).toEqual({
        status: 0,
        stderr: '',
        stdout: `version           0.1.0
commit            ${commit}${dirty ? ' (with uncommitted changes)' : ''}
node              ${process.version}
image references  github.com/distribution/reference v0.6.0
`,
      });
    });

    it('-o json', () => {
      const run = runCli(['version', '-o', 'json']);
      expect(run.status).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({
        version: '0.1.0',
        commit,
        treeState: dirty ? 'dirty' : 'clean',
        node: process.version,
        imageReference: { upstream: 'github.com/distribution/reference', version: 'v0.6.0' },
      });
    });

    it('agrees with -v', () => {
      expect(runCli(['-v'])).toEqual({ status: 0, stderr: '', stdout: '0.1.0\n' });
    });
  });

  describe('completion', () => {
    const script = join(mkdtempSync(join(tmpdir(), 'completion-')), 'kube-image-bouncer.bash');
    beforeAll(() => writeFileSync(script, runCli(['completion', 'bash']).stdout));

    /** What bash offers after the words, the last being the one being completed. */
    const complete = (...words: string[]): string[] => {
      const run = spawnSync(
        'bash',
        [
          '-c',
          'source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _kube_image_bouncer; printf "%s\\n" "${COMPREPLY[@]}"',
          script,
          'kube-image-bouncer',
          ...words,
        ],
        { cwd: REPOSITORY, encoding: 'utf8' },
      );
      expect(run.stderr).toBe('');
      return run.stdout.split('\n').filter(Boolean);
    };

    it('in bash, completes commands, their options, option values and files', () => {
      expect(complete('c')).toEqual(['check', 'completion']);
      expect(complete('check', '--po')).toEqual(['--policy']);
      expect(complete('check', '-o', '')).toEqual(['table', 'json', 'sarif', 'junit']);
      expect(complete('--cl')).toEqual(['--client-ca']);
      expect(complete('check', '-f', 'examples/image-policy.y')).toEqual(['examples/image-policy.yaml']);
      expect(complete('completion', '')).toEqual(['bash', 'zsh', 'fish']);
      expect(complete('test', 'exam')).toEqual(['examples']);
    });

    it('refuses a shell it has no script for', () => {
      expect(runCli(['completion', 'tcsh'])).toMatchObject({
        status: 2,
        stderr:
          "error: command-argument value 'tcsh' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish.\n",
      });
    });
  });
});
