import type { FastifyInstance, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { Static } from 'typebox';
import {
  assertMethodAccepted,
  CHANNELS,
  type Channel,
  PAYMENT_METHODS,
  type PaymentMethod,
} from '../../domain/channels.js';
import type { PaymentService } from '../../services/payments.js';
import { principalOf } from '../plugins/auth.js';
import { answerWith } from '../plugins/idempotency.js';
import { IdParams, type IdParamsT, PageOf, problems } from '../schemas/common.js';
import { PaymentRequestSchema, PaymentSchema, PaymentsQuery, ReturnBody } from '../schemas/payments.js';
import { pageView, paymentView } from '../views.js';

/**
 * R19 comes before schema validation: a method the channel does not take is refused before its
 * details are looked at (after the card screen, which runs before every route's validation).
 */
async function screenPayment(request: FastifyRequest) {
  const body = request.body as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object') return;
  const { channel, method } = body;
  if (
    typeof channel === 'string' &&
    typeof method === 'string' &&
    (CHANNELS as readonly string[]).includes(channel) &&
    (PAYMENT_METHODS as readonly string[]).includes(method)
  ) {
    assertMethodAccepted(channel as Channel, method as PaymentMethod);
  }
}

const createPayment = {
  config: { auth: ['connector', 'ops'], idempotency: 'required' },
  preValidation: screenPayment,
  schema: {
    tags: ['payments'],
    summary: 'Take a payment on a channel (R19-R24); requires Idempotency-Key',
    body: PaymentRequestSchema,
    response: { 201: PaymentSchema, ...problems(400, 409, 422) },
  },
} satisfies RouteShorthandOptions;

const getPayment = {
  config: { auth: ['connector', 'ops'] },
  schema: {
    tags: ['payments'],
    summary: 'Get a payment (method details masked)',
    params: IdParams,
    response: { 200: PaymentSchema, ...problems(404) },
  },
} satisfies RouteShorthandOptions;

const listPayments = {
  config: { auth: ['connector', 'ops'] },
  schema: {
    tags: ['payments'],
    summary: 'List payments, oldest first',
    querystring: PaymentsQuery,
    response: { 200: PageOf(PaymentSchema), ...problems(400) },
  },
} satisfies RouteShorthandOptions;

const returnPayment = {
  config: { auth: ['connector', 'ops'], idempotency: 'required' },
  schema: {
    tags: ['payments'],
    summary: 'Record a returned payment (ACH return or bounced check) (R25); requires Idempotency-Key',
    params: IdParams,
    body: ReturnBody,
    response: { 201: PaymentSchema, ...problems(400, 404, 409, 422) },
  },
} satisfies RouteShorthandOptions;

const created = answerWith(201, paymentView);

/** Payments on the three channels and their returns (R19-R25); the ops queue is in opsPayments.ts. */
export default async function paymentRoutes(app: FastifyInstance, opts: { payments: PaymentService }) {
  app.post<{ Body: Static<typeof PaymentRequestSchema> }>('/v1/payments', createPayment, async (request, reply) => {
    const b = request.body;
    const input = { ...b, receivedAt: b.receivedAt ? new Date(b.receivedAt) : undefined };
    return reply.answer(await opts.payments.post(input, principalOf(request), request.idempotent(created)));
  });

  app.get<{ Params: IdParamsT }>('/v1/payments/:id', getPayment, async (request) =>
    paymentView(await opts.payments.get(request.params.id)),
  );

  app.get<{ Querystring: Static<typeof PaymentsQuery> }>('/v1/payments', listPayments, async (request) => {
    const { limit, after, ...filter } = request.query;
    return pageView(await opts.payments.list(filter, limit ?? 100, after), paymentView);
  });

  app.post<{ Params: IdParamsT; Body: Static<typeof ReturnBody> }>(
    '/v1/payments/:id/returns',
    returnPayment,
    async (request, reply) => {
      const { reasonCode, returnedAt } = request.body;
      const at = returnedAt ? new Date(returnedAt) : undefined;
      const call = request.idempotent(created);
      return reply.answer(
        await opts.payments.recordReturn(request.params.id, reasonCode, at, principalOf(request), call),
      );
    },
  );
}
