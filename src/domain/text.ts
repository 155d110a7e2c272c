import { DomainError } from './errors.js';

/**
 * PostgreSQL text cannot hold U+0000, and no field of ours has a use for it: a request whose text
 * (any value or key, at any depth, in the path, the query or the body) carries one is a 400, found
 * before anything is stored or looked up (it was a 500 from the database).
 */
export function assertNoNulCharacter(parts: readonly (readonly [string, unknown])[]): void {
  const stack: [string, unknown][] = parts.map(([part, value]) => [part, value] as [string, unknown]);
  while (stack.length > 0) {
    const [path, value] = stack.pop() as [string, unknown];
    if (typeof value === 'string') {
      if (value.includes('\u0000')) refuse(path);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => {
        stack.push([`${path}[${i}]`, v]);
      });
    } else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (key.includes('\u0000')) refuse(path);
        stack.push([`${path}.${key}`, v]);
      }
    }
  }
}

function refuse(field: string): never {
  throw new DomainError('invalid_character', 'Text may not contain the NUL character (U+0000).', { field });
}
