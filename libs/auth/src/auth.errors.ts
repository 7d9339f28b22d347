import { HttpStatus } from '@nestjs/common';
import { DomainError } from '@app/http';

export type AuthenticationErrorCode =
  'TOKEN_MISSING' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'SESSION_REVOKED' | 'INTERNAL_AUTH_REQUIRED';

const MESSAGES: Record<AuthenticationErrorCode, string> = {
  TOKEN_MISSING: 'Authentication required: send "Authorization: Bearer <access token>"',
  TOKEN_INVALID: 'The access token is invalid',
  TOKEN_EXPIRED: 'The access token has expired; refresh it',
  SESSION_REVOKED: 'The session of this access token has ended; log in again',
  INTERNAL_AUTH_REQUIRED: 'This route accepts only service credentials',
};

/** 401 in the common envelope, with the WWW-Authenticate challenge of RFC 6750. */
export class AuthenticationError extends DomainError {
  constructor(code: AuthenticationErrorCode, message = MESSAGES[code]) {
    const challenge =
      code === 'INTERNAL_AUTH_REQUIRED'
        ? 'InternalToken'
        : code === 'TOKEN_MISSING'
          ? 'Bearer'
          : `Bearer error="invalid_token"`;
    super(HttpStatus.UNAUTHORIZED, code, message, [], { 'www-authenticate': challenge });
  }
}
