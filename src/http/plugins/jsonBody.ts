import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { containsCardNumber } from '../../domain/cardScreen.js';
import { DomainError } from '../../domain/errors.js';

/** Deepest nesting of arrays and objects a JSON body may have; ours need 3. */
export const MAX_JSON_DEPTH = 32;

/**
 * One pass over a JSON text, before anything parses or walks it: `too_deep` when arrays/objects nest
 * deeper than `max` (a 30,000-deep body would overflow a recursive walk), `duplicate_key` when an object
 * repeats a member name (JSON.parse keeps the last one silently, so `{"reason":"<card>","reason":"ok"}`
 * would hide a value from every screen that looks at the parsed body). Names are compared decoded
 * (`"a"` and `"\u0061"` are the same). Malformed text is left to the parser.
 */
export function scanJson(text: string, max: number): 'too_deep' | 'duplicate_key' | null {
  // One frame per open bracket: the member names seen so far (objects) or null (arrays).
  const frames: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
      const names = frames.at(-1);
      if (expectKey && names) {
        let name: string;
        try {
          name = JSON.parse(text.slice(start, i + 1)) as string;
        } catch {
          return null; // not JSON: the parser answers
        }
        if (names.has(name)) return 'duplicate_key';
        names.add(name);
        expectKey = false;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (frames.length >= max) return 'too_deep';
      frames.push(c === 0x7b ? new Set<string>() : null);
      expectKey = c === 0x7b;
    } else if (c === 0x7d || c === 0x5d) {
      frames.pop();
      expectKey = false;
    } else if (c === 0x2c) {
      expectKey = frames.at(-1) != null;
    }
  }
  return null;
}

function isValidJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The JSON body parser: fastify's own (prototype-poisoning checks included), after the scan above. */
async function jsonBodyPlugin(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, bytes, done) => {
    // Bytes that are not UTF-8 (a raw surrogate, an overlong form, 0xFF) would be decoded to U+FFFD
    // and the request accepted with other text than was sent: refused like a lone surrogate escape.
    if (!isUtf8(bytes as Buffer)) {
      done(new DomainError('invalid_character', 'The body is not valid UTF-8.', { field: 'body' }), undefined);
      return;
    }
    const body = (bytes as Buffer).toString('utf8');
    const found = scanJson(body, MAX_JSON_DEPTH);
    if (found === 'too_deep') {
      done(
        new DomainError('body_too_deep', `JSON bodies may nest arrays and objects at most ${MAX_JSON_DEPTH} deep.`),
        undefined,
      );
      return;
    }
    if (found === 'duplicate_key') {
      // The screens only see the parsed body, where the hidden value is gone: a card number anywhere in
      // the text of such a body is still refused as one (SPEC "Card data"), else the body is malformed.
      done(
        containsCardNumber(body)
          ? new DomainError('card_number_not_allowed', 'A full card number was sent.', { field: 'body' })
          : new DomainError('duplicate_json_key', 'A JSON object in the body repeats a member name.'),
        undefined,
      );
      return;
    }
    parse(request, body, (err, parsed) => {
      // secure-json-parse refuses `__proto__` and `constructor.prototype` members (prototype poisoning)
      // and fastify reports that as "not valid JSON": when the text is valid JSON, say what was refused.
      if (err && isValidJson(body)) {
        done(
          new DomainError(
            'forbidden_json_key',
            'A JSON object in the body has a member named "__proto__", or "prototype" inside "constructor"; such members are not accepted.',
          ),
          undefined,
        );
        return;
      }
      done(err, parsed);
    });
  });
}

export default fp(jsonBodyPlugin, { name: 'json-body', fastify: '5.x', dependencies: ['errors'] });
