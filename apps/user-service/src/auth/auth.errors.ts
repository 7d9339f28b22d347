import { HttpStatus } from '@nestjs/common';
import { DomainError } from '@app/http';

export class InvalidCredentialsError extends DomainError {
  constructor() {
    super(HttpStatus.UNAUTHORIZED, 'INVALID_CREDENTIALS', 'Invalid email or password');
  }
}

export class EmailNotVerifiedError extends DomainError {
  constructor() {
    super(
      HttpStatus.FORBIDDEN,
      'EMAIL_NOT_VERIFIED',
      'Email verification required: follow the link we emailed you, or ask for a new one',
    );
  }
}

export class AccountDeactivatedError extends DomainError {
  constructor() {
    super(HttpStatus.FORBIDDEN, 'ACCOUNT_DEACTIVATED', 'This account is deactivated');
  }
}

export type RefreshFailure = 'INVALID_REFRESH_TOKEN' | 'REFRESH_TOKEN_REUSED' | 'SESSION_ENDED';

export class RefreshRefusedError extends DomainError {
  constructor(code: RefreshFailure) {
    const message = {
      INVALID_REFRESH_TOKEN: 'The refresh token is invalid',
      REFRESH_TOKEN_REUSED: 'This refresh token was already used; the session is revoked, log in again',
      SESSION_ENDED: 'The session has ended; log in again',
    }[code];
    super(HttpStatus.UNAUTHORIZED, code, message);
  }
}

export class InvalidEmailTokenError extends DomainError {
  constructor() {
    super(HttpStatus.BAD_REQUEST, 'INVALID_OR_EXPIRED_TOKEN', 'The link is invalid, expired or already used');
  }
}

export class CurrentPasswordIncorrectError extends DomainError {
  constructor() {
    super(HttpStatus.BAD_REQUEST, 'CURRENT_PASSWORD_INCORRECT', 'The current password is incorrect');
  }
}
