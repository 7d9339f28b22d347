import { LoggerService, LogLevel } from '@nestjs/common';
import pino, { Logger as Pino } from 'pino';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
const LEVELS: Record<Level, number> = { fatal: 60, error: 50, warn: 40, info: 30, debug: 20, trace: 10 };

/** Nest logger writing one JSON object per line (pino), with the service name on every line. */
export class JsonLogger implements LoggerService {
  private readonly pino: Pino;

  constructor(service: string, level = 'info') {
    this.pino = pino({ name: service, level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
  }

  private write(level: Level, message: unknown, context?: string) {
    if (message !== null && typeof message === 'object')
      this.pino[level]({ context, ...(message as object) });
    else this.pino[level]({ context }, String(message));
  }

  log(message: unknown, context?: string) {
    this.write('info', message, context);
  }
  error(message: unknown, ...rest: unknown[]) {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    const stack = rest.length > 1 && typeof rest[0] === 'string' ? rest[0] : undefined;
    if (stack && typeof message === 'string') this.pino.error({ context, stack }, message);
    else this.write('error', message, context);
  }
  warn(message: unknown, context?: string) {
    this.write('warn', message, context);
  }
  debug(message: unknown, context?: string) {
    this.write('debug', message, context);
  }
  verbose(message: unknown, context?: string) {
    this.write('trace', message, context);
  }
  fatal(message: unknown, context?: string) {
    this.write('fatal', message, context);
  }
  setLogLevels(levels: LogLevel[]) {
    const lowest = levels
      .map((l) => LEVELS[l === 'verbose' ? 'trace' : l === 'log' ? 'info' : l] ?? 30)
      .sort((a, b) => a - b)[0];
    const name = Object.entries(LEVELS).find(([, v]) => v === lowest)?.[0];
    if (name) this.pino.level = name;
  }
}
