import {
  ArgumentMetadata,
  BadRequestException,
  Injectable,
  InternalServerErrorException,
  OnModuleInit,
  PipeTransform,
} from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { ValidationError, validateSync } from 'class-validator';
import { envelopeProblems, isEnvelope, readEnvelope } from './envelope-fields';

const MAX_SHOWN_VALUE = 80;
const isIndex = (property: string): boolean => /^\d+$/.test(property);

function shown(value: unknown): string {
  if (value !== null && typeof value === 'object') return '';
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return ` (got ${text.length > MAX_SHOWN_VALUE ? `${text.slice(0, MAX_SHOWN_VALUE)}…` : text})`;
}

/** "spec.containers[0].image must be a string (got 5)" rather than class-validator's nested tree. */
function describe(error: ValidationError, parent: string): string[] {
  const path =
    parent === ''
      ? error.property
      : isIndex(error.property)
        ? `${parent}[${error.property}]`
        : `${parent}.${error.property}`;
  const own = Object.values(error.constraints ?? {}).map((message) => {
    const predicate = message.startsWith(`${error.property} `)
      ? message.slice(error.property.length + 1)
      : message;
    return `${path} ${predicate}${shown(error.value)}`;
  });
  return [...own, ...(error.children ?? []).flatMap((child) => describe(child, path))];
}

/**
 * Validates the envelope of a review body: the fields its DTO declares, and nothing else. An
 * unmodelled field (a whole Pod, fields from newer Kubernetes releases) costs nothing and is never
 * rejected, and the original body is left as it arrived.
 */
@Injectable()
export class ReviewEnvelopePipe implements PipeTransform, OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  /** A body this pipe cannot validate fails the boot, not a review: see envelopeProblems. */
  onModuleInit(): void {
    const problems = this.bodyParameters().flatMap(({ route, type }) =>
      typeof type === 'function' && type !== Object
        ? envelopeProblems(type as Parameters<typeof envelopeProblems>[0]).map((p) => `${route}: ${p}`)
        : [`${route}: the @Body() parameter has no DTO class`],
    );
    if (problems.length > 0)
      throw new Error(
        `request bodies that could not be validated:\n${problems.map((p) => `  ${p}`).join('\n')}`,
      );
  }

  transform(value: unknown, { type, metatype }: ArgumentMetadata): unknown {
    if (type !== 'body') return value;
    // The boot check makes this unreachable; should it ever be reached, nothing passes unvalidated.
    if (!isEnvelope(metatype)) throw new InternalServerErrorException('request body has no envelope DTO');
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new BadRequestException('request body must be a JSON object');
    }
    let errors: ValidationError[];
    let envelope: object;
    try {
      envelope = readEnvelope<object>(metatype, value as Record<string, unknown>);
      errors = validateSync(envelope, { forbidUnknownValues: false, stopAtFirstError: true });
    } catch (error) {
      // class-validator descends arrays of arrays; a pathological one exhausts the stack.
      if (error instanceof RangeError) throw new BadRequestException('request body is nested too deeply');
      throw error;
    }
    if (errors.length > 0) {
      throw new BadRequestException(errors.flatMap((e) => describe(e, '')).join('; '));
    }
    return envelope;
  }

  /** Every @Body() parameter of every controller, with its declared type. */
  private bodyParameters(): { route: string; type: unknown }[] {
    return this.discovery.getControllers().flatMap(({ metatype }) => {
      if (typeof metatype !== 'function') return [];
      const prototype = metatype.prototype as object;
      return this.scanner.getAllMethodNames(prototype).flatMap((method) => {
        const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, metatype, method) ?? {}) as Record<
          string,
          { index: number }
        >;
        const types = (Reflect.getMetadata('design:paramtypes', prototype, method) ?? []) as unknown[];
        return Object.entries(args)
          .filter(([key]) => key.startsWith(`${RouteParamtypes.BODY}:`))
          .map(([, { index }]) => ({ route: `${metatype.name}.${method}`, type: types[index] }));
      });
    });
  }
}
