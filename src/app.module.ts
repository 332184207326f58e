import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { AdmissionModule } from './admission/admission.module';
import { AuditModule } from './audit/audit.module';
import { AllConfigType } from './config/bouncer-config';
import { HealthModule } from './health/health.module';
import { HttpErrorFilter } from './http/http-error.filter';
import { ReviewEnvelopePipe } from './http/review-envelope.pipe';
import { MetricsModule } from './metrics/metrics.module';
import { ImageReviewModule } from './policy/image-review.module';
import { TlsModule } from './tls/tls.module';

@Module({})
export class AppModule {
  /** The configuration is resolved and validated before Nest starts; the module only carries it. */
  static forRoot(config: AllConfigType): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => config] }),
        TlsModule,
        MetricsModule,
        AuditModule,
        ImageReviewModule,
        AdmissionModule,
        HealthModule,
      ],
      providers: [
        { provide: APP_PIPE, useClass: ReviewEnvelopePipe },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
    };
  }
}
