import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import {
  assertMethodAccepted,
  CHANNELS,
  type Channel,
  PAYMENT_METHODS,
  type PaymentMethod,
} from '../../domain/channels.js';
import type { Payment } from '../../domain/payment.js';
import type { BillingService } from '../../services/billing.js';
import type { PaymentService } from '../../services/payments.js';
import { principalOf } from '../plugins/auth.js';
import { EnrollmentSchema } from '../schemas/billing.js';
import { Closed, IdParams, type IdParamsT, PageOf, PageQuery, problems } from '../schemas/common.js';
import {
  ApplicationBody,
  PaymentRequestSchema,
  PaymentSchema,
  PaymentsQuery,
  ReturnBody,
} from '../schemas/payments.js';
import { enrollmentView } from '../views.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function paymentView(p: Payment) {
  return {
    id: p.id,
    status: p.status,
    channel: p.channel,
    method: p.method,
    amountCents: p.amountCents,
    receivedAt: p.receivedAt.toISOString(),
    memberId: p.memberId,
    enrollmentId: p.enrollmentId,
    guest: p.guest,
    applications: p.applications.map((a) => ({
      invoiceId: a.invoiceId,
      amountCents: a.amountCents,
      appliedAt: a.appliedAt.toISOString(),
      reversedAt: iso(a.reversedAt),
    })),
    creditedCents: p.creditedCents,
    unappliedCents: p.unappliedCents,
    ...(p.bankAccount ? { bankAccount: p.bankAccount } : {}),
    ...(p.card ? { card: p.card } : {}),
    ...(p.check ? { check: p.check } : {}),
    ...(p.moneyOrder ? { moneyOrder: p.moneyOrder } : {}),
    returnedAt: iso(p.returnedAt),
    returnReasonCode: p.returnReasonCode,
    createdAt: p.createdAt.toISOString(),
  };
}

const created = (p: Payment) => ({ status: 201, body: paymentView(p) });

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

export default async function paymentRoutes(
  app: FastifyInstance,
  opts: { payments: PaymentService; billing: BillingService },
) {
  app.post<{ Body: Static<typeof PaymentRequestSchema> }>(
    '/v1/payments',
    {
      config: { auth: ['connector', 'ops'], idempotency: 'required' },
      preValidation: screenPayment,
      schema: {
        tags: ['payments'],
        summary: 'Take a payment on a channel (R19-R24); requires Idempotency-Key',
        body: PaymentRequestSchema,
        response: { 201: PaymentSchema, ...problems(400, 409, 422) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const answered = await opts.payments.post(
        { ...b, receivedAt: b.receivedAt ? new Date(b.receivedAt) : undefined },
        principalOf(request),
        request.idempotent(created),
      );
      return reply.answer(answered);
    },
  );

  app.get<{ Params: IdParamsT }>(
    '/v1/payments/:id',
    {
      config: { auth: ['connector', 'ops'] },
      schema: {
        tags: ['payments'],
        summary: 'Get a payment (method details masked)',
        params: IdParams,
        response: { 200: PaymentSchema, ...problems(404) },
      },
    },
    async (request) => paymentView(await opts.payments.get(request.params.id)),
  );

  app.get<{ Querystring: Static<typeof PaymentsQuery> }>(
    '/v1/payments',
    {
      config: { auth: ['connector', 'ops'] },
      schema: {
        tags: ['payments'],
        summary: 'List payments, oldest first',
        querystring: PaymentsQuery,
        response: { 200: PageOf(PaymentSchema), ...problems(400) },
      },
    },
    async (request) => {
      const { limit, after, ...filter } = request.query;
      const page = await opts.payments.list(filter, limit ?? 100, after);
      return { data: page.data.map(paymentView), nextCursor: page.nextCursor };
    },
  );

  app.post<{ Params: IdParamsT; Body: Static<typeof ReturnBody> }>(
    '/v1/payments/:id/returns',
    {
      config: { auth: ['connector', 'ops'], idempotency: 'required' },
      schema: {
        tags: ['payments'],
        summary: 'Record a returned payment (ACH return or bounced check) (R25); requires Idempotency-Key',
        params: IdParams,
        body: ReturnBody,
        response: { 201: PaymentSchema, ...problems(400, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const { reasonCode, returnedAt } = request.body;
      const answered = await opts.payments.recordReturn(
        request.params.id,
        reasonCode,
        returnedAt ? new Date(returnedAt) : undefined,
        principalOf(request),
        request.idempotent(created),
      );
      return reply.answer(answered);
    },
  );

  app.get<{ Querystring: Static<typeof PageQueryObject> }>(
    '/v1/ops/unapplied-payments',
    {
      config: { auth: ['ops'] },
      schema: {
        tags: ['operations'],
        summary: 'Mail payments that could not be matched (R23)',
        querystring: PageQueryObject,
        response: { 200: PageOf(PaymentSchema), ...problems(400) },
      },
    },
    async (request) => {
      const page = await opts.payments.list({ status: 'unapplied' }, request.query.limit ?? 100, request.query.after);
      return { data: page.data.map(paymentView), nextCursor: page.nextCursor };
    },
  );

  app.post<{ Params: IdParamsT; Body: Static<typeof ApplicationBody> }>(
    '/v1/ops/unapplied-payments/:id/application',
    {
      config: { auth: ['ops'], idempotency: 'optional' },
      schema: {
        tags: ['operations'],
        summary: 'Apply an unapplied payment to an invoice or enrollment (R23)',
        params: IdParams,
        body: ApplicationBody,
        response: { 200: PaymentSchema, ...problems(400, 404, 409, 422) },
      },
    },
    async (request, reply) => {
      const call = request.idempotent((p: Payment) => ({ status: 200, body: paymentView(p) }));
      return reply.answer(
        await opts.payments.applyUnappliedPayment(request.params.id, request.body, principalOf(request), call),
      );
    },
  );

  app.get<{ Querystring: Static<typeof PageQueryObject> }>(
    '/v1/ops/flagged-enrollments',
    {
      config: { auth: ['ops'] },
      schema: {
        tags: ['operations'],
        summary: 'Confirmed enrollments whose payment was returned (R25)',
        querystring: PageQueryObject,
        response: { 200: PageOf(EnrollmentSchema), ...problems(400) },
      },
    },
    async (request) => {
      const page = await opts.payments.flagged(request.query.limit ?? 100, request.query.after);
      return { data: page.data.map((e) => enrollmentView(e, principalOf(request))), nextCursor: page.nextCursor };
    },
  );
}

const PageQueryObject = Closed({ ...PageQuery });
