import { Controller, Get, Header, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import type { Response } from 'express';
import cluster from 'node:cluster';
import { askPrimary } from '../cluster-ipc';
import { LIVENESS_ROUTES, READINESS_ROUTE } from '../http';
import { LedgerHealthIndicator, PolicyHealthIndicator, TlsHealthIndicator } from './readiness.indicators';

/** A readiness answer: the terminus result, and when not ready, one line that says why. */
export interface Readiness {
  readonly ready: boolean;
  readonly body: HealthCheckResult & { message?: string };
}

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
    private readonly ledger: LedgerHealthIndicator,
  ) {}

  /** The process is up and its event loop turns; nothing external is consulted. */
  @Get([...LIVENESS_ROUTES])
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /**
   * Ready to answer reviews. A cluster worker answers for the whole cluster, as the primary's
   * health port does: a probe of the TLS port reaches one worker, and must not miss the others.
   */
  @Get(READINESS_ROUTE)
  @Header('Cache-Control', 'no-cache, no-store, must-revalidate')
  async readyz(@Res({ passthrough: true }) response: Response): Promise<unknown> {
    if (cluster.isWorker) {
      const answer = await askPrimary('/readyz');
      response.status(answer.status).type(answer.type);
      return JSON.parse(answer.text) as unknown;
    }
    const { ready, body } = await this.readiness();
    response.status(ready ? 200 : 503);
    return body;
  }

  /** This process's own readiness: TLS material and rules loaded, the certificate within its validity. */
  async readiness(): Promise<Readiness> {
    try {
      return {
        ready: true,
        body: await this.health.check([
          () => this.tls.check('tls'),
          () => this.policy.check('policy'),
          () => this.ledger.check('ledger'),
        ]),
      };
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const result = error.getResponse() as HealthCheckResult;
      const reasons = Object.entries(result.error ?? {}).map(([key, indicator]) => {
        const { message } = indicator as { message?: unknown };
        return `${key}: ${typeof message === 'string' ? message : 'down'}`;
      });
      return { ready: false, body: { ...result, message: reasons.join('; ') } };
    }
  }
}
