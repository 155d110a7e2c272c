import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import type { Static } from 'typebox';
import { type IsoDate, isoDate } from '../../domain/dates.js';
import { UNSCOPED } from '../../domain/principal.js';
import type { BillingService } from '../../services/billing.js';
import { principalOf } from '../plugins/auth.js';
import { answerWith } from '../plugins/idempotency.js';
import { BillingRunBody, BillingRunSchema, InvoiceSchema, InvoicesQuery, SweepSchema } from '../schemas/billing.js';
import { IdParams, type IdParamsT, PageOf, problems } from '../schemas/common.js';
import { billingRunView, invoiceView, pageView, sweepView } from '../views.js';

const getInvoice = {
  config: { auth: ['connector', 'ops'] },
  schema: {
    tags: ['invoices'],
    summary: 'Get an invoice with its payment slip (R15-R18)',
    params: IdParams,
    response: { 200: InvoiceSchema, ...problems(404) },
  },
} satisfies RouteShorthandOptions;

const listInvoices = {
  config: { auth: ['connector', 'ops'] },
  schema: {
    tags: ['invoices'],
    summary: 'List invoices, oldest first',
    querystring: InvoicesQuery,
    response: { 200: PageOf(InvoiceSchema), ...problems(400) },
  },
} satisfies RouteShorthandOptions;

const runBilling = {
  config: { auth: ['ops'], idempotency: 'optional' },
  schema: {
    tags: ['invoices'],
    summary: "Issue a month's invoices for every billable enrollment, exactly once (R16)",
    body: BillingRunBody,
    response: { 201: BillingRunSchema, ...problems(400) },
  },
} satisfies RouteShorthandOptions;

const sweepDeadlines = {
  config: { auth: ['ops'], idempotency: 'optional' },
  schema: {
    tags: ['operations'],
    summary: 'Record every missed binder deadline now (R10); the background sweep does the same',
    response: { 200: SweepSchema },
  },
} satisfies RouteShorthandOptions;

export default async function invoiceRoutes(app: FastifyInstance, opts: { billing: BillingService }) {
  const calendar = opts.billing.businessCalendar;

  app.get<{ Params: IdParamsT }>('/v1/invoices/:id', getInvoice, async (request) =>
    invoiceView(await opts.billing.getInvoice(request.params.id, UNSCOPED), calendar),
  );

  app.get<{ Querystring: Static<typeof InvoicesQuery> }>('/v1/invoices', listInvoices, async (request) => {
    const { limit, after, ...filter } = request.query;
    const page = await opts.billing.listInvoices(filter, UNSCOPED, limit ?? 100, after);
    return pageView(page, (i) => invoiceView(i, calendar));
  });

  app.post<{ Body: Static<typeof BillingRunBody> }>('/v1/billing-runs', runBilling, async (request, reply) => {
    const call = request.idempotent(answerWith(201, billingRunView));
    const month = isoDate(request.body.coverageMonth) as IsoDate;
    return reply.answer(await opts.billing.runBillingOnce(month, principalOf(request), call));
  });

  app.post('/v1/ops/deadline-sweeps', sweepDeadlines, async (request, reply) =>
    reply.answer(await opts.billing.sweepOnce(request.idempotent(answerWith(200, sweepView)))),
  );
}
