import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { goTool } from './local-registry';

const run = promisify(execFile);

/**
 * The real notation (v1.3.2), offline, with a configuration of its own ($XDG_CONFIG_HOME): test
 * keys from `notation cert generate-test`, signatures pushed to loopback registries over HTTP,
 * which (distribution 2.8 having no referrers API) lands them in the referrers tag schema.
 */
export class Notation {
  private readonly bin = goTool('notation');
  readonly dir = mkdtempSync(join(tmpdir(), 'kib-notation-'));

  /**
   * A self-signed RSA test key and certificate (`C=US, ST=WA, L=Seattle, O=Notary, CN=<name>`),
   * the default signing key from now on; the certificate's path, which is also its trust store.
   */
  async generateTestCertificate(name: string): Promise<string> {
    await this.notation(['cert', 'generate-test', '--default', name]);
    return join(this.dir, 'notation', 'localkeys', `${name}.crt`);
  }

  /** Signs with a key and certificate chain of our own making, as a key from a user's own CA. */
  useKey(name: string, keyPem: string, chainPem: string): void {
    const keys = join(this.dir, 'own-keys');
    mkdirSync(keys, { recursive: true });
    writeFileSync(join(keys, `${name}.key`), keyPem, { mode: 0o600 });
    writeFileSync(join(keys, `${name}.crt`), chainPem);
    mkdirSync(join(this.dir, 'notation'), { recursive: true });
    writeFileSync(
      join(this.dir, 'notation', 'signingkeys.json'),
      JSON.stringify({
        default: name,
        keys: [{ name, keyPath: join(keys, `${name}.key`), certPath: join(keys, `${name}.crt`) }],
      }),
    );
  }

  async sign(
    reference: string,
    options: { format?: 'jws' | 'cose'; timestamp?: { url: string; rootPath: string } } = {},
  ): Promise<void> {
    await this.notation([
      'sign',
      '--insecure-registry',
      '--signature-format',
      options.format ?? 'jws',
      ...(options.timestamp
        ? ['--timestamp-url', options.timestamp.url, '--timestamp-root-cert', options.timestamp.rootPath]
        : []),
      reference,
    ]);
  }

  private async notation(args: string[]): Promise<string> {
    const { stdout } = await run(this.bin, args, {
      cwd: this.dir,
      env: { ...process.env, XDG_CONFIG_HOME: this.dir, HOME: this.dir },
      timeout: 120_000,
    });
    return stdout;
  }
}
