import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A TLS secret mounted the way the kubelet writes it: tls.crt -> ..data/tls.crt and
 * ..data -> ..<version>, and an update swaps ..data with one rename.
 */
export class SecretVolume {
  private version = 0;

  constructor(readonly dir = mkdtempSync(join(tmpdir(), 'tls-secret-'))) {}

  get certPath(): string {
    return join(this.dir, 'tls.crt');
  }

  get keyPath(): string {
    return join(this.dir, 'tls.key');
  }

  publish(certificatePem: string, privateKeyPem: string): void {
    const versionDir = `..v${++this.version}`;
    mkdirSync(join(this.dir, versionDir));
    writeFileSync(join(this.dir, versionDir, 'tls.crt'), certificatePem);
    writeFileSync(join(this.dir, versionDir, 'tls.key'), privateKeyPem);
    symlinkSync(versionDir, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    if (this.version === 1) {
      symlinkSync(join('..data', 'tls.crt'), this.certPath);
      symlinkSync(join('..data', 'tls.key'), this.keyPath);
    }
  }
}
