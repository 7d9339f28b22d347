import { ValidationFailedError } from './domain-errors';

/** Deepest JSON accepted in a request body: `{}` is depth 1, `{"a": []}` depth 2. */
export const MAX_JSON_DEPTH = 32;

/**
 * The nesting depth of a JSON text, stopping as soon as it exceeds `limit`. A plain scan of the brackets
 * outside strings, without recursion, so a body of a million `[` costs one pass and no stack; whether the
 * text is valid JSON is the parser's business afterwards.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}

export function jsonTooDeepError(limit = MAX_JSON_DEPTH): ValidationFailedError {
  const problem = `JSON must not be nested deeper than ${limit} levels`;
  return new ValidationFailedError(problem, [{ field: 'body', problems: [problem] }]);
}
