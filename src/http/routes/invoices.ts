import type { FastifyInstance } from 'fastify';
import type { Static } from 'typebox';
import { type IsoDate, isoDate } from '../../domain/dates.js';
import { UNSCOPED } from '../../domain/principal.js';
import type { BillingService } from '../../services/billing.js';
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
      config: { auth: ['ops'] },
      schema: {
        tags: ['invoices'],
        summary: "Issue a month's invoices for every billable enrollment, exactly once (R16)",
        body: BillingRunBody,
        response: { 201: BillingRunSchema, ...problems(400) },
      },
    },
    async (request, reply) => {
      const run = await opts.billing.runBilling(isoDate(request.body.coverageMonth) as IsoDate, principalOf(request));
      return reply.code(201).send({
        ...run,
        startedAt: run.startedAt.toISOString(),
        finishedAt: run.finishedAt.toISOString(),
      });
    },
  );

  app.post(
    '/v1/ops/deadline-sweeps',
    {
      config: { auth: ['ops'] },
      schema: {
        tags: ['operations'],
        summary: 'Record every missed binder deadline now (R10); the background sweep does the same',
        response: { 200: SweepSchema },
      },
    },
    async () => {
      const r = await opts.billing.sweepMissedDeadlines();
      return {
        enrollmentsMoved: r.enrollmentsMoved,
        enrollmentsFailed: r.enrollmentsFailed,
        asOf: r.asOf.toISOString(),
      };
    },
  );
}
