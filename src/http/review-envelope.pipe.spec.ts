import { BadRequestException, Body, Controller, Module, Post } from '@nestjs/common';
import { APP_PIPE, DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { IsString } from 'class-validator';
import { EnvelopeField } from './envelope-fields';
import { ReviewEnvelopePipe } from './review-envelope.pipe';

class ReviewDto {
  @EnvelopeField()
  @IsString()
  kind!: string;
}

class PlainDto {
  @IsString()
  kind!: string;
}

@Controller()
class EnvelopeController {
  @Post('ok')
  review(@Body() body: ReviewDto): ReviewDto {
    return body;
  }
}

@Controller()
class PlainDtoController {
  @Post('plain')
  review(@Body() body: PlainDto): PlainDto {
    return body;
  }
}

@Controller()
class UntypedBodyController {
  @Post('untyped')
  review(@Body() body: Record<string, unknown>): unknown {
    return body;
  }
}

const appWith = (controller: new () => unknown) => {
  @Module({
    imports: [DiscoveryModule],
    controllers: [controller],
    providers: [{ provide: APP_PIPE, useClass: ReviewEnvelopePipe }],
  })
  class AppUnderTest {}
  return Test.createTestingModule({ imports: [AppUnderTest] }).compile();
};

describe(ReviewEnvelopePipe.name, () => {
  describe('at boot', () => {
    it('accepts controllers whose bodies are envelope DTOs', async () => {
      const module = await appWith(EnvelopeController);
      await expect(module.createNestApplication({ logger: false }).init()).resolves.toBeDefined();
    });

    it('refuses a body DTO without envelope metadata, which it would otherwise pass through unvalidated', async () => {
      const module = await appWith(PlainDtoController);
      await expect(module.createNestApplication({ logger: false }).init()).rejects.toThrow(
        'request bodies that could not be validated:\n  PlainDtoController.review: PlainDto declares no envelope fields (@EnvelopeField, @NestedEnvelope or @OpaqueJson)',
      );
    });

    it('refuses a body without a DTO class', async () => {
      const module = await appWith(UntypedBodyController);
      await expect(module.createNestApplication({ logger: false }).init()).rejects.toThrow(
        'UntypedBodyController.review: the @Body() parameter has no DTO class',
      );
    });
  });

  describe('per request', () => {
    const sut = new ReviewEnvelopePipe(
      { getControllers: () => [] } as never,
      { getAllMethodNames: () => [] } as never,
    );

    it('validates an envelope DTO and returns the envelope it read', () => {
      expect(sut.transform({ kind: 'K', other: 1 }, { type: 'body', metatype: ReviewDto })).toEqual({
        kind: 'K',
      });
    });

    it('refuses what the DTO refuses, saying where', () => {
      expect(() => sut.transform({ kind: 5 }, { type: 'body', metatype: ReviewDto })).toThrow(
        new BadRequestException('kind must be a string (got 5)'),
      );
    });

    it('never passes a body of another DTO through unvalidated', () => {
      expect(() => sut.transform({ kind: 5 }, { type: 'body', metatype: PlainDto })).toThrow(
        'request body has no envelope DTO',
      );
    });

    it('leaves other parameters alone', () => {
      expect(sut.transform('x', { type: 'query', metatype: String })).toBe('x');
    });
  });
});
