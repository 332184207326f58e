import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeconfigError, loadKubeconfig } from './kubeconfig';

describe(loadKubeconfig.name, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kib-kubeconfig-'));
  const write = (name: string, value: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(value));
    return path;
  };
  const config = (context: string, server: string, user: Record<string, unknown>, current?: string) => ({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: context, cluster: { server: `${server}/`, 'certificate-authority': 'ca.crt' } }],
    users: [{ name: context, user }],
    contexts: [{ name: context, context: { cluster: context, user: context, namespace: `${context}-ns` } }],
    ...(current ? { 'current-context': current } : {}),
  });
  mkdirSync(join(dir, 'home', '.kube'), { recursive: true });
  writeFileSync(join(dir, 'ca.crt'), 'CA');
  // Relative to the kubeconfig that names it, as kubectl reads it.
  writeFileSync(join(dir, 'home', '.kube', 'ca.crt'), 'CA');
  const first = write('first.yaml', config('a', 'https://a.example:6443', { token: 'ta' }, 'a'));
  const second = write(
    'second.yaml',
    config(
      'b',
      'https://b.example:6443',
      {
        'client-certificate-data': Buffer.from('CERT').toString('base64'),
        'client-key-data': Buffer.from('KEY').toString('base64'),
      },
      'b',
    ),
  );

  it('merges $KUBECONFIG as kubectl does: the first current-context wins, missing files are skipped', () => {
    const env = { KUBECONFIG: [join(dir, 'missing.yaml'), first, second].join(':') };
    expect(loadKubeconfig({ env })).toMatchObject({
      context: 'a',
      server: 'https://a.example:6443',
      token: 'ta',
      namespace: 'a-ns',
    });
    const b = loadKubeconfig({ env, context: 'b' });
    expect(b).toMatchObject({ context: 'b', token: undefined });
    expect(b.clientCertificate?.toString()).toBe('CERT');
    expect(b.clientKey?.toString()).toBe('KEY');
    expect(b.certificateAuthority?.toString()).toBe('CA');
  });

  it('reads --kubeconfig alone, and refuses a file that is not there', () => {
    expect(loadKubeconfig({ file: second, env: { KUBECONFIG: first } }).context).toBe('b');
    expect(() => loadKubeconfig({ file: join(dir, 'nope'), env: {} })).toThrow(
      new KubeconfigError(`--kubeconfig: no such file ${JSON.stringify(join(dir, 'nope'))}`),
    );
  });

  it('falls back to ~/.kube/config, then refuses with the ways to give one', () => {
    expect(() => loadKubeconfig({ env: {}, home: join(dir, 'home') })).toThrow(
      'no kubeconfig: give --kubeconfig, set KUBECONFIG, or write ~/.kube/config',
    );
    writeFileSync(
      join(dir, 'home', '.kube', 'config'),
      JSON.stringify(config('h', 'https://h.example', {}, 'h')),
    );
    expect(loadKubeconfig({ env: {}, home: join(dir, 'home') }).context).toBe('h');
  });

  it('refuses an unknown context and an exec user by name', () => {
    expect(() => loadKubeconfig({ file: first, context: 'zz' })).toThrow(
      `context "zz" not found in ${first}`,
    );
    const exec = write('exec.yaml', config('e', 'https://e.example', { exec: { command: 'aws' } }, 'e'));
    expect(() => loadKubeconfig({ file: exec })).toThrow(
      'user e: exec and auth-provider credentials are not supported; use a token or a client certificate',
    );
  });

  it('refuses a tokenFile that cannot be read as a kubeconfig error (exit 2), not a crash', () => {
    const missing = write(
      'token-file.yaml',
      config('t', 'https://t.example', { tokenFile: 'no-such-token' }, 't'),
    );

    expect(() => loadKubeconfig({ file: missing })).toThrow(KubeconfigError);
    expect(() => loadKubeconfig({ file: missing })).toThrow(
      `tokenFile ${join(dir, 'no-such-token')}: ENOENT`,
    );
  });
});
