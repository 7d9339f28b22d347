import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { InstanceSecrets } from '@app/instance-data';
import { RandomSource } from '../common/random-source';

export interface IssuedAdminPassword {
  /** Shown once in the create response, then forgotten. */
  password: string;
  /** `sha256:<base64url>`, kept in the row. */
  hash: string;
  /** AES-256-GCM ciphertext bound to the instance, for the worker (it clears it after provisioning). */
  sealed: string;
}

/**
 * The hash of a generated admin password. The password is random (20 characters, ≈124 bits), so a guess is
 * hopeless whatever the hash costs: like user-service's tokens it is hashed with SHA-256, not a slow
 * password KDF (argon2id tripled the latency of 20 concurrent creates and held libuv's thread pool).
 */
export function adminPasswordHash(password: string): string {
  return `sha256:${createHash('sha256').update(password, 'utf8').digest('base64url')}`;
}

/** The generated Odoo admin password: never stored in plain text, never returned after creation. */
@Injectable()
export class AdminPasswordIssuer {
  constructor(
    private readonly random: RandomSource,
    private readonly secrets: InstanceSecrets,
  ) {}

  issue(instanceId: string): IssuedAdminPassword {
    const password = this.random.adminPassword();
    return {
      password,
      hash: adminPasswordHash(password),
      sealed: this.secrets.encrypt(instanceId, 'admin_password', password),
    };
  }
}
