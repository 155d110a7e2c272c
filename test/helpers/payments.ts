/**
 * Helpers for the payments HTTP tests (R19-R25 and the idempotency convention). They talk to the
 * API and, where no API exists for a state (carrier confirmation), to the database. Check digits are
 * re-derived here rather than imported from src/, so the tests do not trust the code they test.
 */
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { TestContext } from './app.js';
import { expectStatus } from './responses.js';

export const ACCEPTED = {
  online: ['checking', 'savings', 'credit_card', 'debit_card'],
  phone: ['checking', 'savings'],
  mail: ['check', 'money_order'],
} as const;
export const CHANNELS = ['online', 'phone', 'mail'] as const;
export type ChannelName = (typeof CHANNELS)[number];
export const METHODS = [
  'checking',
  'savings',
  'credit_card',
  'debit_card',
  'check',
  'money_order',
  'cash',
  'paypal',
  'other_electronic',
] as const;
export type MethodName = (typeof METHODS)[number];

/** Routing numbers that pass the ABA check (3-7-1 weights). */
export const VALID_ROUTING = ['011000015', '021000021', '026009593'] as const;

export interface PaymentJson {
  id: string;
  status: 'received' | 'unapplied' | 'returned';
  channel: ChannelName;
  method: MethodName;
  amountCents: number;
  receivedAt: string;
  memberId: string | null;
  enrollmentId: string | null;
  guest: boolean;
  applications: { invoiceId: string; amountCents: number; appliedAt: string; reversedAt: string | null }[];
  creditedCents: number;
  unappliedCents: number;
  bankAccount?: { routingNumber: string; last4: string };
  card?: { brand: string; last4: string; expMonth?: number; expYear?: number; [k: string]: unknown };
  check?: { checkNumber: string; payableTo: string };
  moneyOrder?: { serialNumber: string; payableTo: string };
  returnedAt: string | null;
  returnReasonCode: string | null;
  [k: string]: unknown;
}

/** ABA check (3-7-1 weighted sum divisible by 10), written out independently of src/. */
export function isAbaValid(routing: string): boolean {
  if (!/^\d{9}$/.test(routing)) return false;
  const w = [3, 7, 1, 3, 7, 1, 3, 7, 1];
  return [...routing].reduce((sum, d, i) => sum + Number(d) * (w[i] ?? 0), 0) % 10 === 0;
}

/** The same routing number with a wrong check digit. */
export function badCheckDigit(routing: string): string {
  const body = routing.slice(0, 8);
  for (let d = 0; d <= 9; d++) {
    const candidate = `${body}${(Number(routing[8]) + 1 + d) % 10}`;
    if (!isAbaValid(candidate)) return candidate;
  }
  throw new Error('unreachable');
}

export function bankAccount(accountNumber = '000123456789', routingNumber: string = VALID_ROUTING[0]) {
  return { bankAccount: { routingNumber, accountNumber } };
}

export function card(overrides: Record<string, unknown> = {}) {
  return { card: { token: 'tok_visa_debit', brand: 'visa', last4: '4242', expMonth: 12, expYear: 2030, ...overrides } };
}

export function check(overrides: Record<string, unknown> = {}) {
  return { check: { checkNumber: '1042', payableTo: 'Health Connector', ...overrides } };
}

export function moneyOrder(overrides: Record<string, unknown> = {}) {
  return { moneyOrder: { serialNumber: 'MO-778812', payableTo: 'Health Connector', ...overrides } };
}

/** Proper method details for a method (none for cash, paypal, other_electronic). */
export function detailsFor(method: MethodName): Record<string, unknown> {
  switch (method) {
    case 'checking':
    case 'savings':
      return bankAccount();
    case 'credit_card':
    case 'debit_card':
      return card();
    case 'check':
      return check();
    case 'money_order':
      return moneyOrder();
    default:
      return {};
  }
}

/** Details that break the schema for the method (or a foreign block for methods without details). */
export function malformedDetailsFor(method: MethodName): Record<string, unknown> {
  switch (method) {
    case 'checking':
    case 'savings':
      return { bankAccount: { routingNumber: 'not-a-routing', accountNumber: 12 } };
    case 'credit_card':
    case 'debit_card':
      return { card: { token: '', brand: 'diners', last4: '42', expMonth: '12', expYear: 'soon' } };
    case 'check':
      return { check: { checkNumber: 1042, payableTo: '' } };
    case 'money_order':
      return { moneyOrder: { serialNumber: 7, bogus: true } };
    default:
      return { bankAccount: { routingNumber: '123' }, card: 'nope' };
  }
}

/** A target of the right shape for the channel. */
export function targetFor(channel: ChannelName, invoiceNumber: string): Record<string, unknown> {
  return channel === 'mail' ? { slip: { invoiceNumber } } : { invoiceNumber };
}

/** A POST that needs an Idempotency-Key: a fresh one unless given; `null` sends none. */
function postIdempotent(
  ctx: TestContext,
  url: string,
  payload: Record<string, unknown>,
  opts: { key?: string; idempotencyKey?: string | null },
): Promise<LightMyRequestResponse> {
  const idem = opts.idempotencyKey === undefined ? randomUUID() : opts.idempotencyKey;
  return ctx.request({
    method: 'POST',
    url,
    payload,
    headers: idem === null ? {} : { 'idempotency-key': idem },
    ...(opts.key ? { key: opts.key } : {}),
  });
}

export function pay(
  ctx: TestContext,
  payload: Record<string, unknown>,
  opts: { key?: string; idempotencyKey?: string | null } = {},
): Promise<LightMyRequestResponse> {
  return postIdempotent(ctx, '/v1/payments', payload, opts);
}

/** POST /v1/payments expecting 201; returns the payment. */
export async function payOk(
  ctx: TestContext,
  payload: Record<string, unknown>,
  opts: { key?: string; idempotencyKey?: string } = {},
): Promise<PaymentJson> {
  const res = await pay(ctx, payload, opts);
  expectStatus(res, 201);
  return res.json() as PaymentJson;
}

export function returnPayment(
  ctx: TestContext,
  paymentId: string,
  payload: Record<string, unknown>,
  opts: { key?: string; idempotencyKey?: string | null } = {},
): Promise<LightMyRequestResponse> {
  return postIdempotent(ctx, `/v1/payments/${paymentId}/returns`, payload, opts);
}

export function applyUnapplied(
  ctx: TestContext,
  paymentId: string,
  payload: Record<string, unknown>,
  key?: string,
): Promise<LightMyRequestResponse> {
  return ctx.request({
    method: 'POST',
    url: `/v1/ops/unapplied-payments/${paymentId}/application`,
    payload,
    ...(key ? { key } : {}),
  });
}

export async function getPayment(ctx: TestContext, id: string): Promise<PaymentJson> {
  const res = await ctx.request({ method: 'GET', url: `/v1/payments/${id}` });
  expectStatus(res, 200);
  return res.json() as PaymentJson;
}

export async function paymentsOf(ctx: TestContext, memberId: string): Promise<PaymentJson[]> {
  const res = await ctx.request({ method: 'GET', url: `/v1/payments?memberId=${memberId}` });
  expectStatus(res, 200);
  return (res.json() as { data: PaymentJson[] }).data;
}

/** Every payment row in the database (whatever member it has, or none). */
export async function paymentCount(ctx: TestContext): Promise<number> {
  const row = await ctx.database.db
    .selectFrom('payments')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function unappliedQueue(ctx: TestContext): Promise<PaymentJson[]> {
  const res = await ctx.request({ method: 'GET', url: '/v1/ops/unapplied-payments?limit=500' });
  expectStatus(res, 200);
  return (res.json() as { data: PaymentJson[] }).data;
}

export function eventsOfPayment(ctx: TestContext, paymentId: string, type?: string) {
  let q = ctx.database.db.selectFrom('events').selectAll().where('payment_id', '=', paymentId);
  if (type) q = q.where('type', '=', type);
  return q.orderBy('id').execute();
}

let phoneCounter = 0;
/** A US phone number in E.164 that no other account in this process has. */
export function uniquePhone(): { e164: string; local: string } {
  phoneCounter++;
  const line = String((process.pid * 37 + phoneCounter) % 10000).padStart(4, '0');
  // exchanges 200-554: never 555, the exchange newAccount's random default numbers use
  const exchange = String(200 + ((process.pid + phoneCounter * 7) % 355)).padStart(3, '0');
  return { e164: `+1617${exchange}${line}`, local: `(617) ${exchange}-${line}` };
}

export const sorted = (values: readonly string[]) => [...values].sort();
