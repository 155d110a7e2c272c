import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { containsCardNumber } from '../../domain/cardScreen.js';

/** API answers are data, never documents: nothing may load, run or frame them. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** A client's X-Request-Id is kept only when it cannot forge a log line or a header. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * fastify's `genReqId`: the caller's id if it is safe, else a fresh UUID. An id holding a card number
 * is replaced too: the id is echoed in every answer and written in every log line.
 */
export function requestIdOf(raw: IncomingMessage): string {
  const sent = raw.headers['x-request-id'];
  return typeof sent === 'string' && SAFE_REQUEST_ID.test(sent) && !containsCardNumber(sent) ? sent : randomUUID();
}

function isApi(url: string): boolean {
  return url === '/v1' || url.startsWith('/v1/') || url.startsWith('/v1?');
}

/**
 * Headers every answer carries. `/v1` answers hold account, payment and enrollment data: no cache may
 * keep them (`no-store`; pollers still send If-None-Match and get 304, docs/decisions.md). The docs
 * pages replace the CSP with their own (swagger-ui sets it in its own onSend hook, which runs later).
 */
export function applyResponseHeaders(reply: FastifyReply, url: string): void {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('content-security-policy', API_CSP);
  if (isApi(url)) reply.header('cache-control', 'no-store');
}

/** The same headers for answers written straight to a socket (requests Node's parser refused). */
export function rawResponseHeaders(): string {
  return `X-Content-Type-Options: nosniff\r\nContent-Security-Policy: ${API_CSP}\r\nCache-Control: no-store\r\n`;
}

async function headersPlugin(app: FastifyInstance) {
  // onSend, so answers sent from any hook (401, 429, 503 while closing) and 304s carry them too.
  app.addHook('onSend', async (request, reply) => {
    applyResponseHeaders(reply, request.url);
  });
}

export default fp(headersPlugin, { name: 'headers', fastify: '5.x' });
