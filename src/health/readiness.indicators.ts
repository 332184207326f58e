import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { ImagePolicyService } from '../policy/image-policy.service';
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
    private readonly imagePolicy: ImagePolicyService,
  ) {}

  check(key: string): HealthIndicatorResult {
    const indicator = this.health.check(key);
    const rules = this.imagePolicy.ruleNames;
    return rules.length > 0 ? indicator.up({ rules }) : indicator.down({ message: 'no rules loaded' });
  }
}
