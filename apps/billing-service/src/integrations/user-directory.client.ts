import { Inject, Injectable } from '@nestjs/common';
import { InternalHttpClient, InternalRequestOptions } from '@app/auth';
import { APP_CONFIG } from '@app/config';
import { InternalUser } from '@app/contracts';
import type { Config } from '../config/env';
import { internalUserSchema } from '@app/contracts';
import { internalCallOptions, orNotFound } from './internal-call';

/** user-service's internal API: a customer's contact card (for billing mail). */
@Injectable()
export class UserDirectoryClient {
  private readonly baseUrl: string;
  private readonly options: InternalRequestOptions;

  constructor(
    @Inject(APP_CONFIG) config: Config,
    private readonly http: InternalHttpClient,
  ) {
    this.baseUrl = config.USER_SERVICE_URL;
    this.options = internalCallOptions(config);
  }

  /** GET /internal/users/{id}; null when the user does not exist. */
  async find(userId: string): Promise<InternalUser | null> {
    return orNotFound(
      this.http.get(this.baseUrl, `/internal/users/${userId}`, internalUserSchema, this.options),
    );
  }
}
