import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { JsonContentTypeMiddleware } from '../http/json-content-type.middleware';
import { PolicyController } from './policy.controller';
import { PolicyModule } from './policy.module';

/** The ImagePolicyWebhook endpoints over the policy engine. */
@Module({
  imports: [PolicyModule],
  controllers: [PolicyController],
})
export class ImageReviewModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonContentTypeMiddleware).forRoutes(PolicyController);
  }
}
