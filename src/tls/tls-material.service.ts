import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { AllConfigType, TlsConfig, formatDuration } from '../config';
import { FileContents, WatchedFiles } from '../file-watch';
import { CertificateValidity, certificateValidity } from './certificate-validity';
import {
  TlsMaterial,
  TlsMaterialError,
  loadTlsMaterial,
  tlsFileContents,
  tlsFilePaths,
  tlsMaterialFromFiles,
} from './tls-material';

/**
 * How often the certificate in force is held against the clock while its files stay the same, so
 * that crossing into the warning window, or past expiry, is logged when it happens.
 */
const VALIDITY_CHECK_MS = 60_000;

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
  private materialSince?: Date;
  private files?: WatchedFiles;
  private validityTimer?: NodeJS.Timeout;
  private loggedValidity?: CertificateValidity['state'];
  /** The last rotation refused since one was applied: readiness shows it to operators. */
  lastRefusal?: { at: Date; message: string };
  private readonly rotationListeners: ((result: TlsRotationResult, material: TlsMaterial) => void)[] = [];

  constructor(config: ConfigService<AllConfigType, true>) {
    this.config = config.get('tls', { infer: true });
    this.host = config.get('server', { infer: true }).host;
  }

  async onModuleInit(): Promise<void> {
    this.material = await loadTlsMaterial(this.config, this.host);
    this.materialSince = new Date();
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
    this.logValidity();
    this.validityTimer = setInterval(() => this.logValidity(), VALIDITY_CHECK_MS).unref();

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
    clearInterval(this.validityTimer);
  }

  /** The loaded material; throws before module init, which only a wiring mistake can cause. */
  get current(): TlsMaterial {
    if (!this.material) throw new Error('TLS material requested before it was loaded');
    return this.material;
  }

  get loaded(): boolean {
    return this.material !== undefined;
  }

  /** When the material in force was loaded or rotated in. */
  get servingSince(): Date {
    if (!this.materialSince) throw new Error('TLS material requested before it was loaded');
    return this.materialSince;
  }

  /** The certificate in force against the clock, with the configured warning window. */
  validity(now = new Date()): CertificateValidity {
    return certificateValidity(this.current, now, this.config.expiryWarningMs);
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
      this.lastRefusal = { at: new Date(), message: error.message };
      this.rotationListeners.forEach((listener) => listener('refused', this.current));
      return;
    }
    this.material = material;
    this.materialSince = new Date();
    this.lastRefusal = undefined;
    this.logger.log(
      `TLS files rotated: now serving SHA-256 fingerprint ${material.fingerprint256}, valid until ${material.notAfter.toISOString()}`,
    );
    this.loggedValidity = undefined;
    this.logValidity();
    this.rotationListeners.forEach((listener) => listener('applied', material));
  }

  /** Logs the certificate's standing when it changes: an error outside its validity, a warning near its end. */
  private logValidity(): void {
    const validity = this.validity();
    if (validity.state === this.loggedValidity) return;
    this.loggedValidity = validity.state;
    if (validity.state === 'expiring')
      this.logger.warn(
        `${validity.message}; renew it before then (--certificate-expiry-warning ${formatDuration(this.config.expiryWarningMs)})`,
      );
    else if (validity.state !== 'valid')
      this.logger.error(`${validity.message}: every review through this certificate fails; /readyz fails`);
  }
}
