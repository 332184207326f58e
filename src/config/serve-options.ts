import { Type } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  Min,
  ValidationArguments,
  registerDecorator,
} from 'class-validator';
import { isIP } from 'node:net';
import { MAX_WORKERS } from '../cpu-quota';
import { unreadableFileProblem } from './readable-file';
import {
  DEFAULT_CERTIFICATE_EXPIRY_WARNING,
  DEFAULT_HOST,
  DEFAULT_PORT,
  LOG_FORMATS,
  LOG_LEVELS,
  LogFormat,
  LogLevel,
} from './bouncer-config';
import { DURATION_FORMAT, parseDuration } from './duration';

function IsReadableFile(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isReadableFile',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (path: unknown) => unreadableFileProblem(path) === undefined,
        defaultMessage: ({ value }: ValidationArguments) =>
          unreadableFileProblem(value) ?? `cannot read file ${JSON.stringify(value)}`,
      },
    });
}

// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/**
 * An address to listen on: an IP address, or a name to resolve. Digits and dots alone are an IPv4
 * address or nothing (`999.0.0.1` is not a name), so they are refused here rather than by the
 * resolver or the certificate issuer later.
 */
function isListenHost(host: unknown): boolean {
  if (typeof host !== 'string') return false;
  return isIP(host) !== 0 || (HOST_NAME.test(host) && !/^[\d.]+$/.test(host));
}

function IsListenHost(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isListenHost',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: isListenHost,
        defaultMessage: () => 'must be an IP address or a host name',
      },
    });
}

function IsDuration(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isDuration',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && parseDuration(value) !== undefined,
        defaultMessage: () => `must be ${DURATION_FORMAT}`,
      },
    });
}

/**
 * The `serve` command's options as they arrive from flags and environment variables (all strings),
 * with the rules a value must satisfy. Property names match the long flag names.
 */
export class ServeOptions {
  @Type(() => Number)
  @IsInt({ message: 'must be an integer between 1 and 65535' })
  @Min(1, { message: 'must be an integer between 1 and 65535' })
  @Max(65535, { message: 'must be an integer between 1 and 65535' })
  port: number = DEFAULT_PORT;

  @IsListenHost()
  @IsString()
  @IsNotEmpty({ message: 'must not be empty' })
  host: string = DEFAULT_HOST;

  // Each is checked when given; one without the other is said once, by resolveBouncerConfig.
  @IsOptional()
  @IsReadableFile()
  cert?: string;

  @IsOptional()
  @IsReadableFile()
  key?: string;

  @IsOptional()
  @IsReadableFile()
  clientCa?: string;

  @IsOptional()
  @IsReadableFile()
  policy?: string;

  @IsIn(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` })
  logLevel: LogLevel = 'info';

  @IsIn(LOG_FORMATS, { message: `must be one of ${LOG_FORMATS.join(', ')}` })
  logFormat: LogFormat = 'json';

  /** Absent means one per CPU the process may use (see src/cpu-quota). */
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: `must be an integer between 1 and ${MAX_WORKERS}` })
  @Min(1, { message: `must be an integer between 1 and ${MAX_WORKERS}` })
  @Max(MAX_WORKERS, { message: `must be an integer between 1 and ${MAX_WORKERS}` })
  workers?: number;

  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'must be an integer between 1 and 65535' })
  @Min(1, { message: 'must be an integer between 1 and 65535' })
  @Max(65535, { message: 'must be an integer between 1 and 65535' })
  healthPort?: number;

  @IsDuration()
  certificateExpiryWarning: string = DEFAULT_CERTIFICATE_EXPIRY_WARNING;

  /** Made at start when missing; a directory that cannot be written turns ledger admission off, not the bouncer. */
  @IsOptional()
  @IsString()
  @IsNotEmpty({ message: 'must not be empty' })
  ledgerDir?: string;

  @IsOptional()
  @IsReadableFile()
  ledgerKeyFile?: string;
}
