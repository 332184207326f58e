// The one logger, pino, and its Nest adapter.
export { PinoNestLogger, createBouncerLogger } from './bouncer-logger';
