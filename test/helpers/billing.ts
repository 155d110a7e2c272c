/**
 * Helpers for the accounts, enrollments and invoices HTTP tests. They talk to the API (and, where a
 * later slice's API does not exist yet, to the database), and re-derive check digits independently
 * of src/ so the tests do not trust the code they test.
 */
import type { TestContext } from './app.js';
import type { EnrollmentJson } from './factories.js';
import { expectStatus } from './responses.js';

export interface InvoiceJson {
  id: string;
  invoiceNumber: string;
  enrollmentId: string;
  memberId: string;
  carrierId: string;
  coverageMonth: string;
  amountDueCents: number;
  amountPaidCents: number;
  balanceCents: number;
  creditAppliedCents: number;
  dueDate: string;
  status: 'open' | 'partially_paid' | 'paid' | 'void';
  binder: boolean;
  delivery: 'paperless' | 'mail';
  expectedDelivery?: { earliest: string; latest: string };
  issuedAt: string;
  voidedAt: string | null;
  paymentSlip: {
    payableTo: string;
    mailTo: { name: string; line1: string; city: string; state: string; postalCode: string };
    memberId: string;
    subscriberName: string;
    carrierName: string;
    invoiceNumber: string;
    amountDueCents: number;
    scanLine: string;
  };
}

export interface BillingRunJson {
  id: string;
  coverageMonth: string;
  dueDate: string;
  issuedCount: number;
  creditAppliedCents: number;
  startedAt: string;
  finishedAt: string;
}

export async function getEnrollment(ctx: TestContext, id: string, key?: string): Promise<EnrollmentJson> {
  const res = await ctx.request({ method: 'GET', url: `/v1/enrollments/${id}`, ...(key ? { key } : {}) });
  expectStatus(res, 200);
  return res.json() as EnrollmentJson;
}

export async function getInvoice(ctx: TestContext, id: string): Promise<InvoiceJson> {
  const res = await ctx.request({ method: 'GET', url: `/v1/invoices/${id}` });
  expectStatus(res, 200);
  return res.json() as InvoiceJson;
}

export async function listInvoices(ctx: TestContext, query: string): Promise<InvoiceJson[]> {
  const res = await ctx.request({ method: 'GET', url: `/v1/invoices?${query}` });
  expectStatus(res, 200);
  return (res.json() as { data: InvoiceJson[] }).data;
}

export function invoicesOfEnrollment(ctx: TestContext, enrollmentId: string): Promise<InvoiceJson[]> {
  return listInvoices(ctx, `enrollmentId=${enrollmentId}`);
}

export function binderOf(ctx: TestContext, e: Pick<EnrollmentJson, 'binderInvoiceId'>): Promise<InvoiceJson> {
  return getInvoice(ctx, e.binderInvoiceId);
}

export function checkout(ctx: TestContext, payload: Record<string, unknown>, key?: string) {
  return ctx.request({
    method: 'POST',
    url: '/v1/enrollments',
    payload: { coverageType: 'health', planName: 'ConnectorCare Plan Type II', monthlyPremiumCents: 45000, ...payload },
    ...(key ? { key } : {}),
  });
}

export function cancelEnrollment(ctx: TestContext, id: string, body: Record<string, unknown> = {}, key?: string) {
  return ctx.request({
    method: 'POST',
    url: `/v1/enrollments/${id}/cancellation`,
    payload: body,
    ...(key ? { key } : {}),
  });
}

export async function sweep(
  ctx: TestContext,
): Promise<{ enrollmentsMoved: number; enrollmentsFailed: number; asOf: string }> {
  const res = await ctx.request({ method: 'POST', url: '/v1/ops/deadline-sweeps' });
  expectStatus(res, 200);
  return res.json() as { enrollmentsMoved: number; enrollmentsFailed: number; asOf: string };
}

export function billingRun(ctx: TestContext, coverageMonth: string, key?: string) {
  return ctx.request({ method: 'POST', url: '/v1/billing-runs', payload: { coverageMonth }, ...(key ? { key } : {}) });
}

/** A billing run that must succeed (201, or 200 when it issued nothing new). */
export async function billingRunOk(ctx: TestContext, coverageMonth: string): Promise<void> {
  const res = await billingRun(ctx, coverageMonth);
  if (res.statusCode !== 200 && res.statusCode !== 201) {
    throw new Error(`billing run failed: ${res.statusCode} ${res.body}`);
  }
}

/** Rows of the event outbox for one enrollment (optionally of one type), in order. */
export function eventsOf(ctx: TestContext, enrollmentId: string, type?: string) {
  let q = ctx.database.db.selectFrom('events').selectAll().where('enrollment_id', '=', enrollmentId);
  if (type) q = q.where('type', '=', type);
  return q.orderBy('id').execute();
}

/** The stored enrollment row (what a sweep or a change recorded, not the read projection). */
export function enrollmentRow(ctx: TestContext, id: string) {
  return ctx.database.db.selectFrom('enrollments').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** Direct state changes for slices whose API does not exist yet (payments, carrier confirmation). */
export async function setEnrollmentStatus(
  ctx: TestContext,
  id: string,
  status: 'confirmed' | 'awaiting_confirmation',
  confirmedAt = '2026-12-28T15:00:00Z',
) {
  await ctx.database.db
    .updateTable('enrollments')
    .set({ status, ...(status === 'confirmed' ? { confirmed_at: new Date(confirmedAt) } : {}) })
    .where('id', '=', id)
    .execute();
}

/** The carrier confirmation, written directly in the database. */
export function confirmInDb(ctx: TestContext, enrollmentId: string, confirmedAt: string): Promise<void> {
  return setEnrollmentStatus(ctx, enrollmentId, 'confirmed', confirmedAt);
}

export async function setBinderPaid(ctx: TestContext, enrollmentId: string, amountPaidCents: number) {
  await ctx.database.db
    .updateTable('invoices')
    .set({ amount_paid_cents: amountPaidCents })
    .where('enrollment_id', '=', enrollmentId)
    .where('is_binder', '=', true)
    .execute();
}

export async function setCredit(ctx: TestContext, enrollmentId: string, creditCents: number) {
  await ctx.database.db
    .updateTable('enrollments')
    .set({ credit_cents: creditCents })
    .where('id', '=', enrollmentId)
    .execute();
}

/** Walks a paginated list with `limit` and `after`, returning every page. */
export async function allPages<T>(
  ctx: TestContext,
  path: string,
  query: string,
  limit: number,
  key?: string,
): Promise<{ data: T[]; nextCursor: string | null }[]> {
  const pages: { data: T[]; nextCursor: string | null }[] = [];
  let after: string | null = null;
  for (let i = 0; i < 100; i++) {
    const cursor: string = after ? `&after=${encodeURIComponent(after)}` : '';
    const res = await ctx.request({
      method: 'GET',
      url: `${path}?${query}&limit=${limit}${cursor}`,
      ...(key ? { key } : {}),
    });
    expectStatus(res, 200);
    const page = res.json() as { data: T[]; nextCursor: string | null };
    pages.push(page);
    if (!page.nextCursor) break;
    after = page.nextCursor;
  }
  return pages;
}
