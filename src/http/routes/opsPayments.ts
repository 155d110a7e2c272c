import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import type { Static } from 'typebox';
import type { PaymentService } from '../../services/payments.js';
import { principalOf } from '../plugins/auth.js';
import { answerWith } from '../plugins/idempotency.js';
import { EnrollmentSchema } from '../schemas/billing.js';
import { Closed, described, IdParams, type IdParamsT, PageOf, PageQuery, problems } from '../schemas/common.js';
import { ApplicationBody, PaymentSchema } from '../schemas/payments.js';
import { enrollmentView, pageView, paymentView } from '../views.js';

const PageQueryObject = Closed({ ...PageQuery });
type PageQueryT = Static<typeof PageQueryObject>;

const listUnapplied = {
  config: { auth: ['ops'] },
  schema: {
    tags: ['operations'],
    summary: 'Mail payments that could not be matched (R23)',
    description:
      'The ops queue of money received but not yet applied: mail payments whose slip or remittance details matched no invoice or enrollment (R23). Money received is never lost; each stays here, status `unapplied`, until ops applies it. Oldest first, paged with `limit` and `after`.',
    querystring: PageQueryObject,
    response: { 200: described(PageOf(PaymentSchema), 'A page of unapplied payments'), ...problems(400) },
  },
} satisfies RouteShorthandOptions;

const applyUnapplied = {
  config: { auth: ['ops'], idempotency: 'optional' },
  schema: {
    tags: ['operations'],
    summary: 'Apply an unapplied payment to an invoice or enrollment (R23)',
    description: [
      'Ops names where an unapplied mail payment belongs, by exactly one of `invoiceNumber` or `enrollmentId`; it is then applied as any payment is (R24): to that invoice, else to the oldest open invoices of the enrollment, any overpayment kept as credit.',
      'Only an `unapplied` payment can be applied (409 `not_unapplied`). Naming both or neither target is 422 `target_required`; a target that does not exist is 422 `target_not_found`.',
      'An Idempotency-Key is optional: with one, a retry with the same body replays the first answer with `Idempotent-Replayed: true`.',
    ].join(' '),
    params: IdParams,
    body: ApplicationBody,
    response: {
      200: described(PaymentSchema, 'The payment as applied (a replay: the first answer)'),
      ...problems(400, {
        404: 'No payment with this id (`not_found`).',
        409: 'The payment is not unapplied (`not_unapplied`, with `currentState`).',
        422: 'Name exactly one target (`target_required`); the target does not exist (`target_not_found`); or the payment was received before the enrollment was selected (`timestamp_out_of_range`).',
      }),
    },
  },
} satisfies RouteShorthandOptions;

const listFlagged = {
  config: { auth: ['ops'] },
  schema: {
    tags: ['operations'],
    summary: 'Confirmed enrollments whose payment was returned (R25)',
    description:
      'Enrollments flagged `payment_returned`: a payment was returned after the carrier had confirmed them, so ops must follow up (R25). Enrollments not yet confirmed go back to `pending_payment` instead and are not listed. Oldest first, paged with `limit` and `after`.',
    querystring: PageQueryObject,
    response: { 200: described(PageOf(EnrollmentSchema), 'A page of flagged enrollments'), ...problems(400) },
  },
} satisfies RouteShorthandOptions;

/** The ops side of payments: the unapplied queue (R23) and enrollments flagged by a return (R25). */
export default async function opsPaymentRoutes(app: FastifyInstance, opts: { payments: PaymentService }) {
  app.get<{ Querystring: PageQueryT }>('/v1/ops/unapplied-payments', listUnapplied, async (request) => {
    const { limit, after } = request.query;
    return pageView(await opts.payments.list({ status: 'unapplied' }, limit ?? 100, after), paymentView);
  });

  app.post<{ Params: IdParamsT; Body: Static<typeof ApplicationBody> }>(
    '/v1/ops/unapplied-payments/:id/application',
    applyUnapplied,
    async (request, reply) => {
      const call = request.idempotent(answerWith(200, paymentView));
      const { id } = request.params;
      return reply.answer(await opts.payments.applyUnappliedPayment(id, request.body, principalOf(request), call));
    },
  );

  app.get<{ Querystring: PageQueryT }>('/v1/ops/flagged-enrollments', listFlagged, async (request) => {
    const viewer = principalOf(request);
    const page = await opts.payments.flagged(request.query.limit ?? 100, request.query.after);
    return pageView(page, (e) => enrollmentView(e, viewer));
  });
}
