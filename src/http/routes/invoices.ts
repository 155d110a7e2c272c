import type { FastifyInstance } from 'fastify';
import type { Static } from 'typebox';
import { type IsoDate, isoDate } from '../../domain/dates.js';
import { UNSCOPED } from '../../domain/principal.js';
import type { BillingRun, BillingService } from '../../services/billing.js';
import { principalOf } from '../plugins/auth.js';
import { BillingRunBody, BillingRunSchema, InvoiceSchema, InvoicesQuery, SweepSchema } from '../schemas/billing.js';
import { IdParams, type IdParamsT, PageOf, problems } from '../schemas/common.js';
import { invoiceView } from '../views.js';

export default async function invoiceRoutes(app: FastifyInstance, opts: { billing: BillingService }) {
  const calendar = opts.billing.businessCalendar;

  app.get<{ Params: IdParamsT }>(
    '/v1/invoices/:id',
    {
      config: { auth: ['connector', 'ops'] },
      schema: {
        tags: ['invoices'],
        summary: 'Get an invoice with its payment slip (R15-R18)',
        params: IdParams,
        response: { 200: InvoiceSchema, ...problems(404) },
      },
    },
    async (request) => invoiceView(await opts.billing.getInvoice(request.params.id, UNSCOPED), calendar),
  );

  app.get<{ Querystring: Static<typeof InvoicesQuery> }>(
    '/v1/invoices',
    {
      config: { auth: ['connector', 'ops'] },
      schema: {
        tags: ['invoices'],
        summary: 'List invoices, oldest first',
        querystring: InvoicesQuery,
        response: { 200: PageOf(InvoiceSchema), ...problems(400) },
      },
    },
    async (request) => {
      const { limit, after, ...filter } = request.query;
      const page = await opts.billing.listInvoices(filter, UNSCOPED, limit ?? 100, after);
      return { data: page.data.map((i) => invoiceView(i, calendar)), nextCursor: page.nextCursor };
    },
  );

  app.post<{ Body: Static<typeof BillingRunBody> }>(
    '/v1/billing-runs',
    {
      config: { auth: ['ops'], idempotency: 'optional' },
      schema: {
        tags: ['invoices'],
        summary: "Issue a month's invoices for every billable enrollment, exactly once (R16)",
        body: BillingRunBody,
        response: { 201: BillingRunSchema, ...problems(400) },
      },
    },
    async (request, reply) => {
      const call = request.idempotent((run: BillingRun) => ({
        status: 201,
        body: { ...run, startedAt: run.startedAt.toISOString(), finishedAt: run.finishedAt.toISOString() },
      }));
      const month = isoDate(request.body.coverageMonth) as IsoDate;
      return reply.answer(await opts.billing.runBillingOnce(month, principalOf(request), call));
    },
  );

  app.post(
    '/v1/ops/deadline-sweeps',
    {
      config: { auth: ['ops'], idempotency: 'optional' },
      schema: {
        tags: ['operations'],
        summary: 'Record every missed binder deadline now (R10); the background sweep does the same',
        response: { 200: SweepSchema },
      },
    },
    async (request, reply) => {
      const call = request.idempotent((r: { enrollmentsMoved: number; enrollmentsFailed: number; asOf: Date }) => ({
        status: 200,
        body: {
          enrollmentsMoved: r.enrollmentsMoved,
          enrollmentsFailed: r.enrollmentsFailed,
          asOf: r.asOf.toISOString(),
        },
      }));
      return reply.answer(await opts.billing.sweepOnce(call));
    },
  );
}
