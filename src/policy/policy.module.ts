import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { JsonContentTypeMiddleware } from '../http/json-content-type.middleware';
import { ImagePolicyService } from './image-policy.service';
import { ImagePolicyCompiler } from './policy-file/image-policy.compiler';
import { PolicyStore } from './policy-file/policy-store.service';
import { PolicyController } from './policy.controller';
import { IMAGE_RULE_TYPES, imageRulesProvider } from './rules';

@Module({
  controllers: [PolicyController],
  providers: [...IMAGE_RULE_TYPES, imageRulesProvider, ImagePolicyCompiler, PolicyStore, ImagePolicyService],
  exports: [ImagePolicyService, PolicyStore, ImagePolicyCompiler],
})
export class PolicyModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(JsonContentTypeMiddleware).forRoutes(PolicyController);
  }
}
