import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { PolicyStore } from '../policy';
import { TlsMaterialService } from '../tls';
import { VerificationLedger } from '../verification-ledger';
import { ServingState } from './serving-state';

const refusal = (refused?: { at: Date; message: string }) =>
  refused ? { at: refused.at.toISOString(), message: refused.message } : undefined;

@Injectable()
export class TlsHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly tls: TlsMaterialService,
  ) {}

  /**
   * Down while the certificate in force is outside its validity: the apiserver refuses it, so a
   * ready pod would only fail every review. Up, with a warning, within the warning window.
   */
  check(key: string): HealthIndicatorResult {
    const indicator = this.health.check(key);
    if (!this.tls.loaded) return indicator.down({ message: 'TLS material not loaded' });
    const { fingerprint256, notBefore, notAfter, selfSigned, clientCaPem } = this.tls.current;
    const validity = this.tls.validity();
    const lastRotationRefused = refusal(this.tls.lastRefusal);
    const details = {
      fingerprint256,
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
      servingSince: this.tls.servingSince.toISOString(),
      selfSigned,
      mutualTls: clientCaPem !== undefined,
      ...(lastRotationRefused ? { lastRotationRefused } : {}),
    };
    if (validity.state === 'expired' || validity.state === 'not-yet-valid')
      return indicator.down({ message: validity.message, ...details });
    return indicator.up({
      ...details,
      ...(validity.state === 'expiring' ? { warning: validity.message } : {}),
    });
  }
}

@Injectable()
export class PolicyHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly store: PolicyStore,
    private readonly serving: ServingState,
  ) {}

  /** Up while a policy is in force. A refused reload is reported but keeps it up: the last good policy still applies. */
  check(key: string): HealthIndicatorResult {
    const indicator = this.health.check(key);
    if (!this.store.loaded) return indicator.down({ message: 'no policy loaded' });
    const { name, source, revision, rules, permissive } = this.store.current;
    const lastReloadRefused = refusal(this.store.lastRefusal);
    return indicator.up({
      name,
      source,
      revision,
      inForceSince: this.serving.policyInForceSince.toISOString(),
      rules: rules.map((rule) => rule.name),
      // Still ready, since the policy says so, but nobody should miss that it denies nothing.
      ...(permissive ? { deniesNothing: permissive } : {}),
      ...(lastReloadRefused ? { lastReloadRefused } : {}),
    });
  }
}

@Injectable()
export class LedgerHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly ledger: VerificationLedger,
  ) {}

  /**
   * Always up: a damaged or unwritable ledger turns admission from it off, and the bouncer still
   * decides every review as it would without one; taking the pod out of service would deny them
   * all. Whoever reads /readyz (and `kube_image_bouncer_ledger_admission`) is told so here.
   */
  check(key: string): HealthIndicatorResult {
    const indicator = this.health.check(key);
    const health = this.ledger.health;
    if (health === undefined) return indicator.up({ enabled: false });
    const { verdicts, tags } = this.ledger.counts;
    return indicator.up({
      enabled: true,
      dir: this.ledger.dir,
      admission: health.admission,
      verdicts,
      tags,
      failingRegistries: this.ledger.outages.registries().filter((r) => this.ledger.holdsRegistry(r)),
      ...(health.admission === 'off'
        ? {
            warning: `admission from the verification ledger is off: the ledger is ${health.problem} (${health.message})`,
            since: health.since,
          }
        : {}),
    });
  }
}
