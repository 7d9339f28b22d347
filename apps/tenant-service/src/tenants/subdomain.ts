import { isReservedSubdomain } from '@app/contracts';

export const SUBDOMAIN_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** Why a subdomain cannot be used, or null when its form is acceptable (availability is separate). */
export function subdomainProblem(subdomain: string): string | null {
  if (subdomain.length < 3 || subdomain.length > 50) return 'must be 3 to 50 characters long';
  if (!SUBDOMAIN_PATTERN.test(subdomain)) {
    return 'may contain only lower-case letters, digits and single hyphens, and must not start or end with a hyphen';
  }
  if (isReservedSubdomain(subdomain)) return 'is reserved';
  return null;
}
