import { Controller, Get, Header } from '@nestjs/common';
import { METRICS_ROUTE } from '../http/review-routes';
import { MetricsService } from './metrics.service';

/** Prometheus scrape endpoint; served beside the probes on the plain-HTTP health port. */
@Controller()
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get(METRICS_ROUTE)
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
