import type { FastifyInstance } from 'fastify';
import type { Static } from 'typebox';
import { type IsoDate, isoDate } from '../../domain/dates.js';
import type { EnrollmentProjection } from '../../domain/enrollment.js';
import { tidyName } from '../../domain/names.js';
import { scopeOf } from '../../domain/principal.js';
import type { BillingService } from '../../services/billing.js';
import { principalOf } from '../plugins/auth.js';
import { Cancellation, Checkout, EnrollmentSchema, EnrollmentsQuery } from '../schemas/billing.js';
import { IdParams, type IdParamsT, PageOf, problems } from '../schemas/common.js';
import { enrollmentView } from '../views.js';

export default async function enrollmentRoutes(app: FastifyInstance, opts: { billing: BillingService }) {
  app.post<{ Body: Static<typeof Checkout> }>(
    '/v1/enrollments',
    {
      config: { auth: ['connector', 'ops'], idempotency: 'optional' },
      schema: {
        tags: ['enrollments'],
        summary: 'Check out a plan: creates the enrollment and its binder invoice (R7, R8)',
        body: Checkout,
        response: { 201: EnrollmentSchema, ...problems(400, 422) },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const answered = await opts.billing.checkout(
        {
          ...b,
          planName: tidyName(b.planName),
          coverageStart: b.coverageStart ? (isoDate(b.coverageStart) as IsoDate) : undefined,
          selectedAt: b.selectedAt ? new Date(b.selectedAt) : undefined,
        },
        principalOf(request),
        request.idempotent((e: EnrollmentProjection) => ({
          status: 201,
          body: enrollmentView(e, principalOf(request)),
        })),
      );
      return reply.answer(answered);
    },
  );

  app.get<{ Params: IdParamsT }>(
    '/v1/enrollments/:id',
    {
      config: { auth: ['connector', 'ops', 'carrier'] },
      schema: {
        tags: ['enrollments'],
        summary: 'Get an enrollment with its history (carriers: their own only)',
        params: IdParams,
        response: { 200: EnrollmentSchema, ...problems(404) },
      },
    },
    async (request) => {
      const viewer = principalOf(request);
      return enrollmentView(await opts.billing.getEnrollment(request.params.id, scopeOf(viewer)), viewer);
    },
  );

  app.get<{ Querystring: Static<typeof EnrollmentsQuery> }>(
    '/v1/enrollments',
    {
      config: { auth: ['connector', 'ops', 'carrier'] },
      schema: {
        tags: ['enrollments'],
        summary: 'List enrollments (carriers: their own only), oldest first',
        querystring: EnrollmentsQuery,
        response: { 200: PageOf(EnrollmentSchema), ...problems(400) },
      },
    },
    async (request) => {
      const { limit, after, ...filter } = request.query;
      const viewer = principalOf(request);
      const page = await opts.billing.listEnrollments(filter, scopeOf(viewer), limit ?? 100, after);
      return { data: page.data.map((e) => enrollmentView(e, viewer)), nextCursor: page.nextCursor };
    },
  );

  app.post<{ Params: IdParamsT; Body: Static<typeof Cancellation> }>(
    '/v1/enrollments/:id/cancellation',
    {
      config: { auth: ['connector', 'ops'], idempotency: 'optional' },
      schema: {
        tags: ['enrollments'],
        summary: 'Cancel before confirmation; paid money becomes enrollment credit (R13)',
        params: IdParams,
        body: Cancellation,
        response: { 200: EnrollmentSchema, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const call = request.idempotent((e: EnrollmentProjection) => ({
        status: 200,
        body: enrollmentView(e, principalOf(request)),
      }));
      return reply.answer(
        await opts.billing.cancelEnrollment(request.params.id, request.body?.reason, principalOf(request), call),
      );
    },
  );
}
