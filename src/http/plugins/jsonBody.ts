import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { DomainError } from '../../domain/errors.js';

/** Deepest nesting of arrays and objects a JSON body may have; ours need 3. */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether a JSON text nests arrays/objects deeper than `max`, found by one pass over the text (brackets
 * inside strings do not count), before anything parses or walks it: a 30,000-deep body would otherwise
 * overflow the stack of a recursive walk.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** The JSON body parser: fastify's own (prototype-poisoning checks included), after a depth bound. */
async function jsonBodyPlugin(app: FastifyInstance) {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonDepthExceeds(body as string, MAX_JSON_DEPTH)) {
      done(
        new DomainError('body_too_deep', `JSON bodies may nest arrays and objects at most ${MAX_JSON_DEPTH} deep.`),
        undefined,
      );
      return;
    }
    parse(request, body as string, done);
  });
}

export default fp(jsonBodyPlugin, { name: 'json-body', fastify: '5.x', dependencies: ['errors'] });
