import type { FastifyInstance, RouteShorthandOptions } from 'fastify';
import type { Static } from 'typebox';
import { type IsoDate, isoDate } from '../../domain/dates.js';
import { UNSCOPED } from '../../domain/principal.js';
import type { BillingService } from '../../services/billing.js';
import { renderBill } from '../bill/render.js';
import { principalOf } from '../plugins/auth.js';
import { answerWith } from '../plugins/idempotency.js';
import { BillingRunBody, BillingRunSchema, InvoiceSchema, InvoicesQuery, SweepSchema } from '../schemas/billing.js';
import { described, EmptyBody, IdParams, type IdParamsT, noBodyIsEmpty, PageOf, problems } from '../schemas/common.js';
import { billingRunView, invoiceView, pageView, sweepView } from '../views.js';

const getInvoice = {
  config: { auth: ['connector', 'ops'] },
  schema: {
    tags: ['invoices'],
    summary: 'Get an invoice with its payment slip (R15-R18)',
    description:
      'One coverage month of one enrollment: amount due, amount paid (enrollment credit included), balance, due date and status `open`, `partially_paid`, `paid` or `void` (R15). Mailed invoices show `expectedDelivery`, 3 to 5 business days after issue (R17). `paymentSlip` carries what a member mails with a check: payee Health Connector, the lockbox address, Member ID, names, invoice number, amount and the scan line (R18).',
    params: IdParams,
    response: {
      200: described(InvoiceSchema, 'The invoice with its payment slip'),
      ...problems(400, { 404: 'No invoice with this id (`not_found`).' }),
    },
  },
} satisfies RouteShorthandOptions;

const getBill = {
  config: { auth: ['connector', 'ops'] },
  schema: {
    tags: ['invoices'],
    summary: "The member's bill as a one-page PDF (R32)",
    description: [
      'The printed bill of the invoice, as `GET /v1/invoices/{id}` shows it: the Health Connector as sender, the subscriber\'s name and mailing address placed for a #10 windowed envelope, Member ID, invoice number, coverage month, carrier and plan, amount due, amount paid, balance and due date; how to pay online, by phone and by mail; on a binder invoice, the warning that the enrollment is not complete until the first month\'s premium is paid in full by the due date; and a detachable coupon with the lockbox address, an "amount enclosed" box and the scan line (R33).',
      'US letter, fonts embedded, text extractable. The same invoice state gives the same bytes; a void invoice is stamped VOID. Paperless members get the same bill.',
    ].join(' '),
    params: IdParams,
    response: {
      200: {
        description: 'The bill (one US-letter page)',
        content: { 'application/pdf': { schema: { type: 'string', format: 'binary' } } },
      },
      ...problems(400, { 404: 'No invoice with this id (`not_found`).' }),
    },
  },
} satisfies RouteShorthandOptions;

const listInvoices = {
  config: { auth: ['connector', 'ops'] },
  schema: {
    tags: ['invoices'],
    summary: 'List invoices, oldest first',
    description:
      'Invoices filtered by `memberId`, `enrollmentId` and `status`, oldest first, paged with `limit` and `after`. `status` filters on the status a read shows as of the service clock (an invoice of a month after a termination the deadline sweep has not recorded yet is `void`, R30), so a page may hold fewer than `limit` items while `nextCursor` points further. A filter that matches nothing is an empty list.',
    querystring: InvoicesQuery,
    response: { 200: described(PageOf(InvoiceSchema), 'A page of invoices'), ...problems(400) },
  },
} satisfies RouteShorthandOptions;

const runBilling = {
  config: { auth: ['ops'], idempotency: 'optional' },
  schema: {
    tags: ['invoices'],
    summary: "Issue a month's invoices for every billable enrollment, exactly once (R16)",
    description: [
      'Issues the invoice of `coverageMonth` for every enrollment that is `awaiting_confirmation` or `confirmed` and covers that month, due on the 23rd of the month before (R16).',
      "Each enrollment gets at most one invoice per month: running the month again issues nothing new (`issuedCount` 0), and the binder invoice is its month's invoice. Enrollment credit is applied to new invoices first.",
      'An enrollment that cannot be billed is logged and counted in `failedCount`; the others are billed, and running the month again retries it.',
      'An Idempotency-Key is optional: with one, a retry with the same body replays the first answer with `Idempotent-Replayed: true`.',
    ].join(' '),
    body: BillingRunBody,
    response: {
      201: described(BillingRunSchema, 'What the run issued (a replay: the first answer)'),
      ...problems(400),
    },
  },
} satisfies RouteShorthandOptions;

const sweepDeadlines = {
  config: { auth: ['ops'], idempotency: 'optional' },
  preValidation: noBodyIsEmpty,
  schema: {
    tags: ['operations'],
    summary:
      'Record every missed binder deadline and non-payment stage now (R10, R29, R30); the background sweep does the same',
    description:
      "For every enrollment whose binder due date passed without full payment, moves its coverage start (and the binder invoice's month and due date) one month later and records the move in its history (R10). Then, for every enrollment whose binder is paid and that has a late balance or a recorded delinquency, records its non-payment standing once: a new stage (history, notice, `enrollment.delinquent`), a cure (`enrollment.delinquency_cured`) or a termination (R30: later invoices voided, their money to credit, `termination` notice, `enrollment.terminated`); `standingsRecorded` counts them. Reads already show all of this as of the service clock; this writes it down, and running it again (from any instance) writes nothing new. A failing enrollment is logged and counted in `enrollmentsFailed`; the others move. An Idempotency-Key is optional: with one, a retry replays the first answer with `Idempotent-Replayed: true`.",
    body: EmptyBody,
    response: {
      ...problems(400),
      200: {
        ...SweepSchema,
        description: 'What the sweep moved (a replay: the first answer)',
        examples: [
          { enrollmentsMoved: 2, standingsRecorded: 1, enrollmentsFailed: 0, asOf: '2026-12-24T09:00:00.000Z' },
        ],
      },
    },
  },
} satisfies RouteShorthandOptions;

export default async function invoiceRoutes(app: FastifyInstance, opts: { billing: BillingService }) {
  const calendar = opts.billing.businessCalendar;

  app.get<{ Params: IdParamsT }>('/v1/invoices/:id', getInvoice, async (request) =>
    invoiceView(await opts.billing.getInvoice(request.params.id, UNSCOPED), calendar),
  );

  app.get<{ Params: IdParamsT }>('/v1/invoices/:id/bill.pdf', getBill, async (request, reply) => {
    const pdf = await renderBill(await opts.billing.getBill(request.params.id, UNSCOPED));
    return reply.type('application/pdf').send(pdf);
  });

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
