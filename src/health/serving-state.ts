import { Injectable } from '@nestjs/common';
import { PolicyStore } from '../policy';
import { TlsMaterialService } from '../tls';
import type { ServingStateSnapshot } from '../cluster-ipc';

export type { ServingStateSnapshot };

@Injectable()
export class ServingState {
  /** Boot, until a reload is applied: the store loads its policy during module init, after this. */
  private policySince = new Date();

  constructor(
    private readonly tls: TlsMaterialService,
    private readonly policy: PolicyStore,
  ) {
    policy.onReload((result) => {
      if (result === 'applied') this.policySince = new Date();
    });
  }

  get policyInForceSince(): Date {
    return this.policySince;
  }

  /** Undefined until both the certificate and the policy have loaded. */
  snapshot(): ServingStateSnapshot | undefined {
    if (!this.tls.loaded || !this.policy.loaded) return undefined;
    const { fingerprint256, notBefore, notAfter } = this.tls.current;
    return {
      fingerprint256,
      notBefore: notBefore.toISOString(),
      notAfter: notAfter.toISOString(),
      certificateSince: this.tls.servingSince.toISOString(),
      policyRevision: this.policy.current.revision,
      policySince: this.policySince.toISOString(),
    };
  }
}
