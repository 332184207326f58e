import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { PolicyStore } from '../policy/policy-file/policy-store.service';
import { TlsMaterialService } from '../tls/tls-material.service';

@Injectable()
export class TlsHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly tls: TlsMaterialService,
  ) {}

  check(key: string): HealthIndicatorResult {
    const indicator = this.health.check(key);
    if (!this.tls.loaded) return indicator.down({ message: 'TLS material not loaded' });
    const { fingerprint256, notAfter, selfSigned, clientCaPem } = this.tls.current;
    return indicator.up({
      fingerprint256,
      notAfter: notAfter.toISOString(),
      selfSigned,
      mutualTls: clientCaPem !== undefined,
    });
  }
}

@Injectable()
export class PolicyHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly store: PolicyStore,
  ) {}

  /** Up while a policy is in force. A refused reload is reported but keeps it up: the last good policy still applies. */
  check(key: string): HealthIndicatorResult {
    const indicator = this.health.check(key);
    if (!this.store.loaded) return indicator.down({ message: 'no policy loaded' });
    const { name, source, revision, rules } = this.store.current;
    return indicator.up({
      name,
      source,
      revision,
      rules: rules.map((rule) => rule.name),
      ...(this.store.lastRefusal
        ? {
            lastReloadRefused: {
              at: this.store.lastRefusal.at.toISOString(),
              message: this.store.lastRefusal.message,
            },
          }
        : {}),
    });
  }
}
