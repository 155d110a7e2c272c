import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { assertNoCardNumber, containsCardNumber, maskCardNumbers } from '../../domain/cardScreen.js';
import { assertNoControlCharacter } from '../../domain/text.js';

/**
 * SPEC conventions, "Card data", for every route: before schema validation (so unknown fields and
 * keys are screened too, and the refusal is 422 rather than a 400 that names them), the path
 * parameters, the query string, the headers that are stored (Idempotency-Key) and the body at any
 * depth are screened for card numbers. A refused request runs nothing and stores nothing.
 */
async function cardScreenPlugin(app: FastifyInstance) {
  app.addHook('preValidation', async (request: FastifyRequest) => {
    const parts = [
      ['params', request.params],
      ['query', request.query],
      ['headers', { 'idempotency-key': request.headers['idempotency-key'] }],
      ['body', request.body],
    ] as const;
    assertNoCardNumber(parts);
    assertNoControlCharacter(parts);
  });
}

/**
 * A URL safe to log or echo: card numbers are masked in it, also when sent percent-encoded
 * (`4111%201111...`) or as `+`-separated query text. The access log line is written before any hook
 * runs, so the log serializer and problem `instance` use this.
 */
export function cardSafeUrl(url: string): string {
  const decoded = url.replace(/\+/g, ' ').replace(/(?:%[0-9A-Fa-f]{2})+/g, (escapes) => {
    try {
      return decodeURIComponent(escapes);
    } catch {
      return escapes;
    }
  });
  return containsCardNumber(decoded) ? maskCardNumbers(decoded) : maskCardNumbers(url);
}

export default fp(cardScreenPlugin, { name: 'card-screen', fastify: '5.x', dependencies: ['errors'] });
