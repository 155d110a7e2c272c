import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import type { Static } from 'typebox';
import { type IsoDate, isoDate } from '../../domain/dates.js';
import type { EnrollmentProjection } from '../../domain/enrollment.js';
import { tidyName } from '../../domain/names.js';
import { type Principal, scopeOf } from '../../domain/principal.js';
import type { BillingService } from '../../services/billing.js';
import { principalOf } from '../plugins/auth.js';
import { answerWith } from '../plugins/idempotency.js';
import { Cancellation, Checkout, EnrollmentSchema, EnrollmentsQuery } from '../schemas/billing.js';
import { described, EmptyBody, IdParams, type IdParamsT, noBodyIsEmpty, PageOf, problems } from '../schemas/common.js';
import { enrollmentPageJson, enrollmentView } from '../views.js';

const checkout = {
  config: { auth: ['connector', 'ops'], idempotency: 'optional' },
  schema: {
    tags: ['enrollments'],
    summary: 'Check out a plan: creates the enrollment and its binder invoice (R7, R8)',
    description: [
      "The member checks out one plan (health or dental) with a carrier: the enrollment is created as `pending_payment` with its binder invoice, the first month's premium, due on the 23rd of the month before coverage starts (R1, R7).",
      'Coverage starts on the 1st of a month. Without `coverageStart`, the earliest start whose due date has not passed is chosen; a requested start whose due date has passed is 422 `deadline_passed` with `earliestCoverageStart` (R8).',
      'The enrollment is complete only once the binder is paid in full by its due date (R9); if the due date passes first, the start moves a month later (R10).',
      '`subsidy` (R28: `none`, `aptc` or `connectorcare`; default `none`) decides the grace period a delinquency gets (R29).',
      'The account and the carrier must exist (422 `account_not_found`, `carrier_not_found`); `selectedAt` defaults to now and may be at most 72 hours in the past (422 `timestamp_out_of_range`).',
      'An Idempotency-Key is optional: with one, a retried checkout replays the first answer with `Idempotent-Replayed: true` and never makes a second enrollment.',
    ].join(' '),
    body: Checkout,
    response: {
      201: described(
        EnrollmentSchema,
        'The new enrollment, `pending_payment`, with its binder invoice id (a replay: the first answer)',
      ),
      ...problems(400, {
        422: 'The deadline for this start has passed (`deadline_passed`, with `earliestCoverageStart`), the account or carrier is unknown (`account_not_found`, `carrier_not_found`), or `selectedAt` is out of range (`timestamp_out_of_range`, `timestamp_in_future`).',
      }),
    },
  },
} satisfies RouteShorthandOptions;

const getEnrollment = {
  config: { auth: ['connector', 'ops', 'carrier'] },
  schema: {
    tags: ['enrollments'],
    summary: 'Get an enrollment with its history (carriers: their own only)',
    description:
      "One enrollment as of the service clock: status, coverage start (already moved if its binder deadline passed, R10), deadlines, credit, flags and its history of status changes and date moves (R14). A carrier asking for another carrier's enrollment gets 404, as for an unknown id.",
    params: IdParams,
    response: {
      200: described(EnrollmentSchema, 'The enrollment as of the service clock'),
      ...problems(400, { 404: 'No enrollment with this id, or it belongs to another carrier (`not_found`).' }),
    },
  },
} satisfies RouteShorthandOptions;

const listEnrollments = {
  config: { auth: ['connector', 'ops', 'carrier'] },
  schema: {
    tags: ['enrollments'],
    summary: 'List enrollments (carriers: their own only), oldest first',
    description:
      'Enrollments filtered by `memberId`, `status` and `carrierId`, oldest first, paged with `limit` and `after`. A carrier sees only its own: it polls `?status=awaiting_confirmation` for paid enrollments to confirm (R26). `delinquency=past_due|termination_warning|final_termination_warning|any` keeps the enrollments whose `delinquency` (as of the service clock, as a read shows it, R29) is at that stage; such a page may hold fewer than `limit` items while `nextCursor` points further. `status` also filters on the status a read shows (a termination the deadline sweep has not recorded yet is `terminated`, R30), with the same paging note. A filter that matches nothing is an empty list.',
    querystring: EnrollmentsQuery,
    response: { 200: described(PageOf(EnrollmentSchema), 'A page of enrollments'), ...problems(400) },
  },
} satisfies RouteShorthandOptions;

const cancelEnrollment = {
  config: { auth: ['connector', 'ops'], idempotency: 'optional' },
  schema: {
    tags: ['enrollments'],
    summary: 'Cancel before confirmation; paid money becomes enrollment credit (R13)',
    description: [
      'Cancels an enrollment the carrier has not confirmed yet, with an optional `reason` kept in its history (R13).',
      'Its open and partially paid invoices are voided and the money already paid on them becomes credit on the enrollment (`creditCents`) for ops to refund.',
      'After confirmation: 409 `not_cancellable`. Cancelling a cancelled enrollment again changes nothing and answers it as it is.',
      'An Idempotency-Key is optional: with one, a retry with the same body replays the first answer with `Idempotent-Replayed: true`.',
    ].join(' '),
    params: IdParams,
    body: Cancellation,
    response: {
      200: described(EnrollmentSchema, 'The cancelled enrollment (a replay: the first answer)'),
      ...problems(400, {
        404: 'No enrollment with this id (`not_found`).',
        409: 'The enrollment can no longer be cancelled (`not_cancellable`, with `currentState`).',
      }),
    },
  },
} satisfies RouteShorthandOptions;

const reinstateEnrollment = {
  config: { auth: ['connector', 'ops'], idempotency: 'optional' },
  preValidation: noBodyIsEmpty,
  schema: {
    tags: ['enrollments'],
    summary: 'Reinstate an enrollment terminated for non-payment, paid from its credit (R31)',
    description: [
      'Within 35 calendar days after the business date of a termination for non-payment (day 35 included), restores the status the enrollment had before it (R31) and clears `coverageEnd` and the termination fields.',
      "The enrollment's credit (money received after termination is kept as credit, R24) must pay every premium from the month after `coverageEnd` through the month after the current business month, plus any balance still open up to `coverageEnd`; those months get live invoices paid from the credit, and `enrollment.reinstated` is on the feed.",
      'Not enough credit: 422 `reinstatement_payment_required` with `amountRequiredCents` and `shortfallCents`. After the window: 422 `reinstatement_window_closed`. An enrollment not terminated for non-payment (cancelled, active, ...): 409 `not_reinstatable`.',
      'No body (or `{}`; any field is 400). An Idempotency-Key is optional: with one, a retry replays the first answer with `Idempotent-Replayed: true`.',
    ].join(' '),
    params: IdParams,
    body: EmptyBody,
    response: {
      200: described(EnrollmentSchema, 'The reinstated enrollment (a replay: the first answer)'),
      ...problems(400, {
        404: 'No enrollment with this id (`not_found`).',
        409: 'The enrollment was not terminated for non-payment (`not_reinstatable`, with `currentState`).',
        422: 'The credit does not cover what reinstatement needs (`reinstatement_payment_required`, with `amountRequiredCents` and `shortfallCents`), or the 35-day window has closed (`reinstatement_window_closed`, with `windowClosedAfter`).',
      }),
    },
  },
} satisfies RouteShorthandOptions;

/** The checkout as the service takes it: plan name tidied, dates parsed. */
function checkoutInput(b: Static<typeof Checkout>) {
  return {
    ...b,
    planName: tidyName(b.planName),
    coverageStart: b.coverageStart ? (isoDate(b.coverageStart) as IsoDate) : undefined,
    selectedAt: b.selectedAt ? new Date(b.selectedAt) : undefined,
  };
}

/** An enrollment answer as the caller may see it (history actors depend on the viewer). */
const enrollmentAnswer = (status: number, viewer: Principal) =>
  answerWith(status, (e: EnrollmentProjection) => enrollmentView(e, viewer));

export default async function enrollmentRoutes(app: FastifyInstance, opts: { billing: BillingService }) {
  app.post<{ Body: Static<typeof Checkout> }>('/v1/enrollments', checkout, async (request, reply) => {
    const viewer = principalOf(request);
    const call = request.idempotent(enrollmentAnswer(201, viewer));
    return reply.answer(await opts.billing.checkout(checkoutInput(request.body), viewer, call));
  });

  app.get<{ Params: IdParamsT }>('/v1/enrollments/:id', getEnrollment, async (request) => {
    const viewer = principalOf(request);
    return enrollmentView(await opts.billing.getEnrollment(request.params.id, scopeOf(viewer)), viewer);
  });

  // Written as JSON text from lean rows (issue 16): the same bytes the response schema's serializer
  // would write from `pageView(page, enrollmentView)` (test/http/work-queue-page.test.ts).
  app.get<{ Querystring: Static<typeof EnrollmentsQuery> }>(
    '/v1/enrollments',
    listEnrollments,
    async (request, reply) => {
      const { limit, after, ...filter } = request.query;
      const viewer = principalOf(request);
      const page = await opts.billing.enrollmentPage(filter, scopeOf(viewer), limit ?? 100, after);
      return reply.type('application/json; charset=utf-8').send(enrollmentPageJson(page, viewer));
    },
  );

  app.post<{ Params: IdParamsT; Body: Static<typeof Cancellation> }>(
    '/v1/enrollments/:id/cancellation',
    cancelEnrollment,
    async (request, reply) => {
      const viewer = principalOf(request);
      const call = request.idempotent(enrollmentAnswer(200, viewer));
      return reply.answer(await opts.billing.cancelEnrollment(request.params.id, request.body?.reason, viewer, call));
    },
  );

  app.post<{ Params: IdParamsT }>('/v1/enrollments/:id/reinstatement', reinstateEnrollment, async (request, reply) => {
    const viewer = principalOf(request);
    const call = request.idempotent(enrollmentAnswer(200, viewer));
    return reply.answer(await opts.billing.reinstateEnrollment(request.params.id, viewer, call));
  });
}
