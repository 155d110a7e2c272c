import type { FastifyReply } from 'fastify';
import { cardSafeUrl } from './plugins/cardScreen.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemType(code: string): string {
  return `urn:mahealthconnector:billing:problem:${code}`;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  [extra: string]: unknown;
}

export function problem(
  status: number,
  code: string,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
): Problem {
  return { type: problemType(code), title, status, detail, code, ...extra };
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  return reply
    .code(p.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send({ ...p, instance: p.instance ?? cardSafeUrl(reply.request.url), requestId: reply.request.id });
}

export const ProblemSchema = {
  $id: 'Problem',
  type: 'object',
  description: 'RFC 9457 problem details with a stable machine `code`.',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string', examples: [problemType('method_not_accepted')] },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string' },
    code: { type: 'string', pattern: '^[a-z][a-z0-9_]*$', examples: ['method_not_accepted'] },
    instance: { type: 'string' },
    requestId: { type: 'string' },
    errors: {
      type: 'array',
      description: 'Validation failures: one entry per failing field.',
      items: {
        type: 'object',
        required: ['field', 'message'],
        properties: { field: { type: 'string' }, message: { type: 'string' } },
      },
    },
    acceptedMethods: { type: 'array', items: { type: 'string' } },
    missing: { type: 'array', items: { type: 'string' } },
    earliestCoverageStart: { type: 'string', format: 'date' },
    field: {
      type: 'string',
      description: 'The business timestamp refused (`timestamp_out_of_range`, `timestamp_in_future`)',
    },
    earliest: { type: ['string', 'null'], format: 'date-time', description: 'Earliest allowed instant' },
    latest: { type: 'string', format: 'date-time', description: 'Latest allowed instant' },
    currentState: { type: 'string' },
    expectedStates: { type: 'array', items: { type: 'string' } },
  },
  additionalProperties: true,
} as const;
