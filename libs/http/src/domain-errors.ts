import { HttpStatus } from '@nestjs/common';

/**
 * Base of every error the services raise on purpose. The global filter maps it to the common envelope;
 * anything that is not a DomainError (or a Nest HttpException) becomes a generic 500.
 */
export class DomainError extends Error {
  constructor(
    readonly status: HttpStatus,
    readonly code: string,
    message: string,
    readonly details: unknown[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationFailedError extends DomainError {
  constructor(message: string, details: unknown[] = []) {
    super(HttpStatus.BAD_REQUEST, 'VALIDATION_FAILED', message, details);
  }
}

export class NotFoundError extends DomainError {
  constructor(resource: string, code = 'NOT_FOUND') {
    super(HttpStatus.NOT_FOUND, code, `${resource} not found`);
  }
}

export class ConflictError extends DomainError {
  constructor(code: string, message: string, details: unknown[] = []) {
    super(HttpStatus.CONFLICT, code, message, details);
  }
}

export class UnauthorizedError extends DomainError {
  constructor(code = 'UNAUTHORIZED', message = 'Authentication required') {
    super(HttpStatus.UNAUTHORIZED, code, message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(code = 'FORBIDDEN', message = 'You are not allowed to do this') {
    super(HttpStatus.FORBIDDEN, code, message);
  }
}

export class TooManyRequestsError extends DomainError {
  constructor(retryAfterSeconds: number, message = 'Too many requests, try again later') {
    super(HttpStatus.TOO_MANY_REQUESTS, 'RATE_LIMITED', message, [], {
      'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
    });
  }
}

export class DependencyUnavailableError extends DomainError {
  constructor(dependency: string, message = `${dependency} is unavailable`) {
    super(HttpStatus.SERVICE_UNAVAILABLE, 'DEPENDENCY_UNAVAILABLE', message, [{ dependency }]);
  }
}
