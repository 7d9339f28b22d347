import { applyDecorators, createParamDecorator, ExecutionContext, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';
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

/** Any logged-in user. */
export const Authenticated = () => applyDecorators(UseGuards(AccessTokenGuard), ApiBearerAuth());

/** Logged-in admins only. */
export const AdminOnly = () => applyDecorators(UseGuards(AccessTokenGuard, AdminGuard), ApiBearerAuth());

/** Other services only (x-internal-token). */
export const InternalOnly = () => applyDecorators(UseGuards(InternalApiGuard), ApiSecurity('internal-token'));
