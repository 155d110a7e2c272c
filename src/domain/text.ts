import { DomainError } from './errors.js';

/**
 * Control characters other than tab, line feed and carriage return (C0, DEL, C1). PostgreSQL text
 * cannot hold U+0000 (it was a 500 from the database), and the others have no use in any field of
 * ours but to hide things: a card number separated by U+0001 would slip past the card screen.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this rule's purpose.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

/**
 * A UTF-16 surrogate without its other half: grammatical JSON (`"\ud800"`) but no character, and
 * PostgreSQL's `jsonb` refuses it (it was a 500 where the text reaches an event, an idempotency
 * answer or a remittance; elsewhere it became U+FFFD).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const notText = (s: string) => CONTROL.test(s) || LONE_SURROGATE.test(s);

/**
 * A request whose text (any value or key, at any depth, in the path, the query, the body or the stored
 * Idempotency-Key header) carries a control character or a lone surrogate is a 400, found before anything is stored or
 * looked up.
 */
export function assertNoControlCharacter(parts: readonly (readonly [string, unknown])[]): void {
  const stack: [string, unknown][] = parts.map(([part, value]) => [part, value] as [string, unknown]);
  while (stack.length > 0) {
    const [path, value] = stack.pop() as [string, unknown];
    if (typeof value === 'string') {
      if (notText(value)) refuse(path);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => {
        stack.push([`${path}[${i}]`, v]);
      });
    } else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) {
        if (notText(key)) refuse(path);
        stack.push([`${path}.${key}`, v]);
      }
    }
  }
}

function refuse(field: string): never {
  throw new DomainError(
    'invalid_character',
    'Text may not contain control characters (other than tab and line breaks) or half of a UTF-16 surrogate pair.',
    { field },
  );
}
