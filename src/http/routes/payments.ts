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
import { described, IdParams, type IdParamsT, PageOf, problems } from '../schemas/common.js';
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
    description: [
      'Records money a member paid online, by phone or by mail, and applies it (R19-R24).',
      'The channel must accept the method (online: checking, savings, credit or debit card; phone: checking or savings; mail: check or money order), else 422 `method_not_accepted` with `acceptedMethods`, decided before the method details are checked.',
      'Bank payments carry a routing number (ABA check digit) and an account number, stored encrypted and shown as its last 4 digits; card payments carry the processor token, never a card number.',
      'The target: online names an `invoiceNumber` or `enrollmentId`; phone may give a `memberId` or `phoneNumber` instead when the account has exactly one enrollment with a balance; mail comes with its `slip` or with the `remittance` details written on the check (Member ID, first and last name, carrier name).',
      'The money goes to the named invoice, else to the oldest open invoices of the enrollment; an overpayment becomes credit on the enrollment, and paying the binder in full moves the enrollment to `awaiting_confirmation` (R11).',
      'Online and phone payments that match nothing are refused before anything is recorded (422 `target_not_found`); a mail payment that matches nothing is kept as `unapplied` for ops (R23).',
      '`receivedAt` defaults to now; online and phone must be within 5 minutes of it, mail at most 10 business days before it (422 `timestamp_out_of_range`).',
      'Requires an Idempotency-Key: the same key with the same body replays the first answer (same status and body, header `Idempotent-Replayed: true`) and never records a second payment.',
    ].join(' '),
    body: PaymentRequestSchema,
    response: {
      201: described(
        PaymentSchema,
        'The payment as recorded: applied, or `unapplied` for unmatched mail (a replay: the first answer)',
      ),
      ...problems(400, {
        409: 'The request conflicts with the current state.',
        422: 'Refused by a payment rule: `method_not_accepted` (with `acceptedMethods`), `invalid_routing_number`, `amount_too_large` (a bank payment above one ACH entry, 9,999,999,999 cents, with `maximumCents`), `card_expired`, `payee_mismatch` (mail not payable to Health Connector), `remittance_incomplete` (with `missing`), `target_required`, `target_not_allowed`, `target_not_found`, `target_ambiguous`, `timestamp_out_of_range`, `timestamp_in_future` or `card_number_not_allowed`.',
      }),
    },
  },
} satisfies RouteShorthandOptions;

const getPayment = {
  config: { auth: ['connector', 'ops'] },
  schema: {
    tags: ['payments'],
    summary: 'Get a payment (method details masked)',
    description:
      'One payment with its applications to invoices, the part kept as credit or unapplied, and its method details masked: bank accounts and cards show only their last 4 digits. 404 `not_found` for an unknown id.',
    params: IdParams,
    response: {
      200: described(PaymentSchema, 'The payment, method details masked'),
      ...problems(400, { 404: 'No payment with this id (`not_found`).' }),
    },
  },
} satisfies RouteShorthandOptions;

const listPayments = {
  config: { auth: ['connector', 'ops'] },
  schema: {
    tags: ['payments'],
    summary: 'List payments, oldest first',
    description:
      'Payments in the order they were recorded, filtered by `memberId` and `status` (`received`, `unapplied`, `returned`). Pages hold `limit` payments (1-500, default 100); pass `nextCursor` as `after` for the next page. A filter that matches nothing is an empty list.',
    querystring: PaymentsQuery,
    response: { 200: described(PageOf(PaymentSchema), 'A page of payments'), ...problems(400) },
  },
} satisfies RouteShorthandOptions;

const returnPayment = {
  config: { auth: ['connector', 'ops'], idempotency: 'required' },
  schema: {
    tags: ['payments'],
    summary: 'Record a returned payment (ACH return or bounced check) (R25); requires Idempotency-Key',
    description: [
      'The bank returned an ACH debit (reason `R01`..`R99`) or a check or money order bounced (`CHECK_RETURNED`): the payment becomes `returned` and every application and credit it made is reversed (R25).',
      'If that leaves a binder unpaid before the carrier confirmed, the enrollment goes back to `pending_payment` (a passed due date moves its start as R10 does); if the carrier had confirmed, the enrollment is flagged `payment_returned` for ops and the carrier hears of it through a `payment.returned` event.',
      'A payment is returned once: again is 409 `already_returned`. The reason must fit the method (422 `invalid_reason_code`); `returnedAt` defaults to now and may not be before the payment was received.',
      'Requires an Idempotency-Key: the same key with the same body replays the first answer with `Idempotent-Replayed: true`.',
    ].join(' '),
    params: IdParams,
    body: ReturnBody,
    response: {
      201: described(PaymentSchema, 'The returned payment, its applications reversed (a replay: the first answer)'),
      ...problems(400, {
        404: 'No payment with this id (`not_found`).',
        409: 'The payment was already returned (`already_returned`).',
        422: 'The reason code does not fit the payment method (`invalid_reason_code`), or `returnedAt` is out of range (`timestamp_out_of_range`, `timestamp_in_future`).',
      }),
    },
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
