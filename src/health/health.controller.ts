import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import { LIVENESS_ROUTES, READINESS_ROUTE } from '../http/review-routes';
import { PolicyHealthIndicator, TlsHealthIndicator } from './readiness.indicators';

/**
 * Probes. Served on the plain-HTTP health port (kubelet and Docker probes present no client
 * certificate) and also on the TLS port.
 */
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly tls: TlsHealthIndicator,
    private readonly policy: PolicyHealthIndicator,
  ) {}

  /** The process is up and its event loop turns; nothing external is consulted. */
  @Get([...LIVENESS_ROUTES])
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /** Ready to answer reviews: TLS material and rules are loaded. */
  @Get(READINESS_ROUTE)
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.tls.check('tls'), () => this.policy.check('policy')]);
  }
}
