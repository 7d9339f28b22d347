import { registerDecorator, ValidationOptions } from 'class-validator';

/** The original system's policy: 8–128 characters with an upper-case letter, a lower-case letter, a digit, and a special character. */
export const PASSWORD_SPECIALS = '!@#$%^&*()_+-=[]{}|;:,.<>?';

export function passwordPolicyProblems(password: string): string[] {
  const problems: string[] = [];
  if (password.length < 8) problems.push('must be at least 8 characters long');
  if (password.length > 128) problems.push('must be at most 128 characters long');
  if (!/[A-Z]/.test(password)) problems.push('must contain an upper-case letter');
  if (!/[a-z]/.test(password)) problems.push('must contain a lower-case letter');
  if (!/[0-9]/.test(password)) problems.push('must contain a digit');
  if (![...password].some((c) => PASSWORD_SPECIALS.includes(c))) {
    problems.push(`must contain one of ${PASSWORD_SPECIALS}`);
  }
  return problems;
}

/** class-validator decorator applying the password policy. */
export function IsPasswordPolicy(options?: ValidationOptions): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isPasswordPolicy',
      target: target.constructor,
      propertyName: String(propertyName),
      options,
      validator: {
        validate: (value: unknown) => typeof value === 'string' && passwordPolicyProblems(value).length === 0,
        defaultMessage: (args) =>
          typeof args?.value === 'string'
            ? `${args.property} ${passwordPolicyProblems(args.value).join(', ')}`
            : `${args?.property} must be a string`,
      },
    });
}
