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
import { IdParams, type IdParamsT, PageOf, problems } from '../schemas/common.js';
import { enrollmentView, pageView } from '../views.js';

const checkout = {
  config: { auth: ['connector', 'ops'], idempotency: 'optional' },
  schema: {
    tags: ['enrollments'],
    summary: 'Check out a plan: creates the enrollment and its binder invoice (R7, R8)',
    body: Checkout,
    response: { 201: EnrollmentSchema, ...problems(400, 422) },
  },
} satisfies RouteShorthandOptions;

const getEnrollment = {
  config: { auth: ['connector', 'ops', 'carrier'] },
  schema: {
    tags: ['enrollments'],
    summary: 'Get an enrollment with its history (carriers: their own only)',
    params: IdParams,
    response: { 200: EnrollmentSchema, ...problems(404) },
  },
} satisfies RouteShorthandOptions;

const listEnrollments = {
  config: { auth: ['connector', 'ops', 'carrier'] },
  schema: {
    tags: ['enrollments'],
    summary: 'List enrollments (carriers: their own only), oldest first',
    querystring: EnrollmentsQuery,
    response: { 200: PageOf(EnrollmentSchema), ...problems(400) },
  },
} satisfies RouteShorthandOptions;

const cancelEnrollment = {
  config: { auth: ['connector', 'ops'], idempotency: 'optional' },
  schema: {
    tags: ['enrollments'],
    summary: 'Cancel before confirmation; paid money becomes enrollment credit (R13)',
    params: IdParams,
    body: Cancellation,
    response: { 200: EnrollmentSchema, ...problems(400, 404, 409) },
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

  app.get<{ Querystring: Static<typeof EnrollmentsQuery> }>('/v1/enrollments', listEnrollments, async (request) => {
    const { limit, after, ...filter } = request.query;
    const viewer = principalOf(request);
    const page = await opts.billing.listEnrollments(filter, scopeOf(viewer), limit ?? 100, after);
    return pageView(page, (e) => enrollmentView(e, viewer));
  });

  app.post<{ Params: IdParamsT; Body: Static<typeof Cancellation> }>(
    '/v1/enrollments/:id/cancellation',
    cancelEnrollment,
    async (request, reply) => {
      const viewer = principalOf(request);
      const call = request.idempotent(enrollmentAnswer(200, viewer));
      return reply.answer(await opts.billing.cancelEnrollment(request.params.id, request.body?.reason, viewer, call));
    },
  );
}
