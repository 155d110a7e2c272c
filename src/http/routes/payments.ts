import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import {
  assertMethodAccepted,
  CHANNELS,
  type Channel,
  PAYMENT_METHODS,
  type PaymentMethod,
} from '../../domain/channels.js';
import { DomainError } from '../../domain/errors.js';
import { assertNoCardNumber, type Payment } from '../../domain/payment.js';
import type { Principal } from '../../domain/principal.js';
import type { BillingService } from '../../services/billing.js';
import type { IdempotencyService, IdempotentWork, Outcome, RunOptions } from '../../services/idempotency.js';
import type { PaymentService } from '../../services/payments.js';
import { principalOf } from '../plugins/auth.js';
import { domainProblem } from '../plugins/errors.js';
import { PROBLEM_CONTENT_TYPE } from '../problem.js';
import { EnrollmentSchema } from '../schemas/billing.js';
import { Closed, IdParams, type IdParamsT, PageOf, PageQuery, problems } from '../schemas/common.js';
import {
  ApplicationBody,
  IdempotencyHeaders,
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

/**
 * R20 and R19 come before schema validation: a full card number is refused wherever it appears,
 * and a method the channel does not take is refused before its details are looked at.
 */
async function screenPayment(request: FastifyRequest) {
  const body = request.body as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object') return;
  assertNoCardNumber(body);
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
  opts: { payments: PaymentService; billing: BillingService; idempotency: IdempotencyService },
) {
  const asOutcome = (err: unknown): Outcome | null => {
    const p = domainProblem(err);
    return p ? { status: p.status, body: p } : null;
  };

  async function idempotent(
    request: FastifyRequest,
    reply: FastifyReply,
    required: boolean,
    work: IdempotentWork,
    options?: RunOptions,
  ) {
    const key = request.headers['idempotency-key'] as string | undefined;
    if (required && !key) {
      throw new DomainError(
        'idempotency_key_required',
        'Send an Idempotency-Key header (for example a UUID) with this request.',
      );
    }
    const principal: Principal = principalOf(request);
    const hash = opts.idempotency.fingerprint(request.method, request.routeOptions.url ?? request.url, {
      params: request.params,
      body: request.body,
    });
    const outcome = await opts.idempotency.run(principal, key, hash, work, asOutcome, options);
    if (outcome.replayed) reply.header('idempotent-replayed', 'true');
    reply.code(outcome.status);
    if (outcome.status >= 400) {
      reply.type(PROBLEM_CONTENT_TYPE);
      return reply.send({ ...(outcome.body as object), requestId: request.id });
    }
    return reply.send(outcome.body);
  }

  app.post<{ Body: Static<typeof PaymentRequestSchema> }>(
    '/v1/payments',
    {
      config: { auth: ['connector', 'ops'] },
      preValidation: screenPayment,
      schema: {
        tags: ['payments'],
        summary: 'Take a payment on a channel (R19-R24); requires Idempotency-Key',
        headers: IdempotencyHeaders,
        body: PaymentRequestSchema,
        response: { 201: PaymentSchema, ...problems(400, 409, 422) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      // The payment, its effects and the idempotency record are one write at the end of the work.
      return idempotent(
        request,
        reply,
        true,
        async (trx, scope) => {
          const payment = await opts.payments.post(
            trx,
            { ...b, receivedAt: b.receivedAt ? new Date(b.receivedAt) : undefined },
            principalOf(request),
            (p) => scope.recordFor({ status: 201, body: paymentView(p) }),
          );
          return { status: 201, body: paymentView(payment), recorded: true };
        },
        { writesOnlyAtEnd: true },
      );
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
      config: { auth: ['connector', 'ops'] },
      schema: {
        tags: ['payments'],
        summary: 'Record a returned payment (ACH return or bounced check) (R25); requires Idempotency-Key',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: ReturnBody,
        response: { 201: PaymentSchema, ...problems(400, 404, 409, 422) },
      },
    },
    async (request, reply) =>
      idempotent(request, reply, true, async (trx) => {
        const p = await opts.payments.returnPayment(
          trx,
          request.params.id,
          request.body.reasonCode,
          request.body.returnedAt ? new Date(request.body.returnedAt) : undefined,
          principalOf(request),
        );
        return { status: 201, body: paymentView(p) };
      }),
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
      config: { auth: ['ops'] },
      schema: {
        tags: ['operations'],
        summary: 'Apply an unapplied payment to an invoice or enrollment (R23)',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: ApplicationBody,
        response: { 200: PaymentSchema, ...problems(400, 404, 409, 422) },
      },
    },
    async (request, reply) =>
      idempotent(request, reply, false, async (trx) => {
        const p = await opts.payments.applyUnapplied(trx, request.params.id, request.body, principalOf(request));
        return { status: 200, body: paymentView(p) };
      }),
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
