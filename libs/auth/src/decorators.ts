import { applyDecorators, createParamDecorator, ExecutionContext, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';
import { ApiErrors, SECURITY } from '@app/http';
import { AuthenticationError } from './auth.errors';
import { AuthenticatedRequest, AuthenticatedUser } from './auth.types';
import { AccessTokenGuard, AdminGuard, InternalApiGuard } from './guards';

/** The authenticated caller (or one of its fields); only on routes behind AccessTokenGuard. */
export const CurrentUser = createParamDecorator(
  (field: keyof AuthenticatedUser | undefined, context: ExecutionContext) => {
    const user = context.switchToHttp().getRequest<AuthenticatedRequest>().user;
    if (!user) throw new AuthenticationError('TOKEN_MISSING');
    return field ? user[field] : user;
  },
);

/** What the access-token check can answer, on every route behind it (503: Redis, where sessions live). */
const ACCESS_TOKEN_ERRORS = {
  401: ['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'SESSION_REVOKED'],
  503: ['DEPENDENCY_UNAVAILABLE'],
} as const;

/** Any logged-in user. */
export const Authenticated = () =>
  applyDecorators(
    UseGuards(AccessTokenGuard),
    ApiBearerAuth(SECURITY.bearer),
    ApiErrors(ACCESS_TOKEN_ERRORS),
  );

/** Logged-in admins only. */
export const AdminOnly = () =>
  applyDecorators(
    UseGuards(AccessTokenGuard, AdminGuard),
    ApiBearerAuth(SECURITY.bearer),
    ApiErrors({ ...ACCESS_TOKEN_ERRORS, 403: ['ADMIN_REQUIRED'] }),
  );

/** Other services only (x-internal-token). */
export const InternalOnly = () =>
  applyDecorators(
    UseGuards(InternalApiGuard),
    ApiSecurity(SECURITY.internalToken),
    ApiErrors({ 401: ['INTERNAL_AUTH_REQUIRED'] }),
  );
