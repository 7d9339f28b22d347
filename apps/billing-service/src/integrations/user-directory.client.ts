import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { APP_CONFIG } from '@app/config';
import { InternalUser } from '@app/contracts';
import type { Config } from '../config/env';
import { InternalApiClient } from './internal-api.client';

const userSchema = z.looseObject({
  id: z.string(),
  email: z.string(),
  first_name: z.string(),
  last_name: z.string(),
  is_active: z.boolean(),
  role: z.enum(['customer', 'admin']),
});

/** user-service's internal API: a customer's contact card (for billing mail). */
@Injectable()
export class UserDirectoryClient {
  private readonly baseUrl: string;

  constructor(
    @Inject(APP_CONFIG) config: Config,
    private readonly api: InternalApiClient,
  ) {
    this.baseUrl = config.USER_SERVICE_URL;
  }

  /** GET /internal/users/{id}; null when the user does not exist. */
  async find(userId: string): Promise<InternalUser | null> {
    return this.api.call('GET', this.baseUrl, `/internal/users/${userId}`, userSchema, {
      allowNotFound: true,
    });
  }
}
