import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { PolicyStore } from '../policy/policy-file/policy-store.service';
import { EXPIRY_WARNING_MS, TlsMaterialService } from '../tls/tls-material.service';

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
    const remainingMs = notAfter.getTime() - Date.now();
    // Still ready: an expiring certificate serves until it expires; the warning is for operators.
    const warning =
      remainingMs <= 0
        ? `serving certificate expired at ${notAfter.toISOString()}`
        : remainingMs < EXPIRY_WARNING_MS
          ? `serving certificate expires in ${Math.ceil(remainingMs / 86_400_000)} day(s), at ${notAfter.toISOString()}`
          : undefined;
    return indicator.up({
      fingerprint256,
      notAfter: notAfter.toISOString(),
      selfSigned,
      mutualTls: clientCaPem !== undefined,
      ...(warning ? { warning } : {}),
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
    const { name, source, revision, rules, permissive } = this.store.current;
    return indicator.up({
      name,
      source,
      revision,
      rules: rules.map((rule) => rule.name),
      // Still ready, since the policy says so, but nobody should miss that it denies nothing.
      ...(permissive ? { deniesNothing: permissive } : {}),
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
