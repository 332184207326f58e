import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AllConfigType, TlsConfig } from '../config/bouncer-config';
import { FileContents, WatchedFiles } from '../file-watch/watched-files';
import {
  TlsMaterial,
  TlsMaterialError,
  loadTlsMaterial,
  tlsFileContents,
  tlsFilePaths,
  tlsMaterialFromFiles,
} from './tls-material';

/** Readiness warns this long before the serving certificate expires. */
export const EXPIRY_WARNING_MS = 7 * 86_400_000;

export type TlsRotationResult = 'applied' | 'refused';

/**
 * Loads the serving certificate, key and client CA, and rotates them while running: when a file
 * changes, the new material is checked and handed to the listeners (the TLS server calls
 * setSecureContext), so new handshakes see it and open connections carry on. A broken new pair
 * is refused and the old one kept.
 */
@Injectable()
export class TlsMaterialService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(TlsMaterialService.name);
  private readonly config: TlsConfig;
  private readonly host: string;
  private material?: TlsMaterial;
  private files?: WatchedFiles;
  private readonly rotationListeners: ((result: TlsRotationResult, material: TlsMaterial) => void)[] = [];

  constructor(config: ConfigService<AllConfigType, true>) {
    this.config = config.get('tls', { infer: true });
    this.host = config.get('server', { infer: true }).host;
  }

  async onModuleInit(): Promise<void> {
    this.material = await loadTlsMaterial(this.config, this.host);
    if (this.material.selfSigned) {
      this.logger.warn(
        `no --cert/--key given: serving a self-signed certificate made at start, SHA-256 fingerprint ${this.material.fingerprint256}. ` +
          'Give a certificate the kube-apiserver trusts before production use.',
      );
    } else {
      this.logger.log(
        `serving certificate ${this.config.certificatePath}, SHA-256 fingerprint ${this.material.fingerprint256}`,
      );
    }
    if (this.material.clientCaPem !== undefined) {
      this.logger.log(`mutual TLS: client certificates must be signed by ${this.config.clientCaPath}`);
    }

    const paths = tlsFilePaths(this.config);
    if (paths.length > 0) {
      this.files = new WatchedFiles(
        paths,
        (contents) => this.rotate(contents),
        (message) => this.logger.warn(`TLS files: ${message}; keeping the certificate in force`),
      );
      await this.files.start(await this.files.read());
    }
  }

  onModuleDestroy(): void {
    this.files?.stop();
  }

  /** The loaded material; throws before module init, which only a wiring mistake can cause. */
  get current(): TlsMaterial {
    if (!this.material) throw new Error('TLS material requested before it was loaded');
    return this.material;
  }

  get loaded(): boolean {
    return this.material !== undefined;
  }

  /** Listeners get every rotation attempt: the TLS server applies new material, metrics count both. */
  onRotation(listener: (result: TlsRotationResult, material: TlsMaterial) => void): void {
    this.rotationListeners.push(listener);
  }

  /** Reads the files now rather than at the next watch event or poll. */
  recheck(): Promise<void> {
    return this.files?.check() ?? Promise.resolve();
  }

  private rotate(contents: FileContents): void {
    let material: TlsMaterial;
    try {
      material = tlsMaterialFromFiles(this.config, tlsFileContents(this.config, contents), this.current);
    } catch (error) {
      if (!(error instanceof TlsMaterialError)) throw error;
      this.logger.error(
        `new TLS files refused, still serving ${this.current.fingerprint256}: ${error.message}`,
      );
      this.rotationListeners.forEach((listener) => listener('refused', this.current));
      return;
    }
    this.material = material;
    this.logger.log(
      `TLS files rotated: now serving SHA-256 fingerprint ${material.fingerprint256}, valid until ${material.notAfter.toISOString()}`,
    );
    this.rotationListeners.forEach((listener) => listener('applied', material));
  }
}
