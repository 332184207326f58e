import { Controller, Get, Header, Res } from '@nestjs/common';
import type { Response } from 'express';
import cluster from 'node:cluster';
import { askPrimary } from '../cluster-ipc';
import { METRICS_ROUTE } from '../http';
import { MetricsService } from './metrics.service';

/**
 * Prometheus scrape endpoint, on the plain-HTTP health port and on the TLS port. In a cluster
 * worker it answers with the primary's sums over every worker: a scrape reaches one worker, whose
 * own counters hold only the reviews it served.
 */
@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get(METRICS_ROUTE)
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(@Res({ passthrough: true }) response: Response): Promise<string> {
    if (!cluster.isWorker) return this.metrics.registry.metrics();
    const answer = await askPrimary('/metrics');
    response.status(answer.status).type(answer.type);
    return answer.text;
  }
}
