import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AllConfigType } from '../config/bouncer-config';
import { TlsMaterial, loadTlsMaterial } from './tls-material';

@Injectable()
export class TlsMaterialService implements OnModuleInit {
  private readonly logger = new Logger(TlsMaterialService.name);
  private material?: TlsMaterial;

  constructor(private readonly config: ConfigService<AllConfigType, true>) {}

  async onModuleInit(): Promise<void> {
    const tls = this.config.get('tls', { infer: true });
    const { host } = this.config.get('server', { infer: true });
    this.material = await loadTlsMaterial(tls, host);
    if (this.material.selfSigned) {
      this.logger.warn(
        `no --cert/--key given: serving a self-signed certificate made at start, SHA-256 fingerprint ${this.material.fingerprint256}. ` +
          'Give a certificate the kube-apiserver trusts before production use.',
      );
    } else {
      this.logger.log(
        `serving certificate ${tls.certificatePath}, SHA-256 fingerprint ${this.material.fingerprint256}`,
      );
    }
    if (this.material.clientCaPem !== undefined) {
      this.logger.log(`mutual TLS: client certificates must be signed by ${tls.clientCaPath}`);
    }
  }

  /** The loaded material; throws before module init, which only a wiring mistake can cause. */
  get current(): TlsMaterial {
    if (!this.material) throw new Error('TLS material requested before it was loaded');
    return this.material;
  }

  get loaded(): boolean {
    return this.material !== undefined;
  }
}
