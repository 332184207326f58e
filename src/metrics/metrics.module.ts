import { Global, Module } from '@nestjs/common';
import { PolicyModule } from '../policy/policy.module';
import { TlsModule } from '../tls/tls.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Global()
@Module({
  imports: [PolicyModule, TlsModule],
  controllers: [MetricsController],
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
