/**
 * Support for the model-based invariant suite (test/http/invariants-model.test.ts): business-time
 * arithmetic written out from SPEC.md (not imported from src/), an HTTP client that records every
 * answer and refuses to let a 5xx pass, paginated readers, and the invariant checks over one
 * observed snapshot of the API (I1-I5 and the binder rules R9-R11).
 */
import { isDeepStrictEqual } from 'node:util';
import type { LightMyRequestResponse } from 'fastify';
import type { TestContext } from './app.js';

// ---------------------------------------------------------------------------------------------
// Business time (SPEC conventions: business time zone America/New_York; R1 due dates)

const nyFormat = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'America/New_York',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

function nyParts(ms: number) {
  const parts = Object.fromEntries(nyFormat.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
}

/** The business date (YYYY-MM-DD in New York) of an instant. */
export const businessDate = (ms: number): string => nyParts(ms).date;

/** The instant of a New York wall-clock time on a date. */
export function nyInstant(date: string, hour: number, minute: number): number {
  const target = Date.parse(`${date}T00:00:00Z`) + (hour * 60 + minute) * 60_000;
  let guess = target + 5 * 3_600_000;
  for (let i = 0; i < 3; i++) {
    const p = nyParts(guess);
    const seen = Date.parse(`${p.date}T00:00:00Z`) + ((p.hour * 60 + p.minute) * 60 + p.second) * 1000;
    if (seen === target) break;
    guess += target - seen;
  }
  return guess;
}

export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/** The 1st of the month `months` after the month of `date`. */
export function addMonths(date: string, months: number): string {
  const y = Number(date.slice(0, 4));
  const m = Number(date.slice(5, 7)) - 1 + months;
  const d = new Date(Date.UTC(y + Math.floor(m / 12), ((m % 12) + 12) % 12, 1));
  return d.toISOString().slice(0, 10);
}

/** R1: the payment due date of a coverage month is the 23rd of the month before it. */
export const dueDateOf = (coverageMonth: string): string => `${addMonths(coverageMonth, -1).slice(0, 8)}23`;

export const iso = (ms: number): string => new Date(ms).toISOString();

// ---------------------------------------------------------------------------------------------
// Observed resources (only the fields the checks read; the rest is compared whole)

export interface Enrollment {
  id: string;
  memberId: string;
  carrierId: string;
  status: string;
  coverageStart: string;
  paymentDueDate: string;
  binderInvoiceId: string;
  paidInFullAt: string | null;
  creditCents: number;
  flags?: string[];
  coverageEnd?: string | null;
  [k: string]: unknown;
}

export interface Invoice {
  id: string;
  invoiceNumber: string;
  enrollmentId: string;
  memberId: string;
  coverageMonth: string;
  amountDueCents: number;
  amountPaidCents: number;
  balanceCents: number;
  creditAppliedCents?: number;
  dueDate: string;
  status: 'open' | 'partially_paid' | 'paid' | 'void';
  [k: string]: unknown;
}

export interface Payment {
  id: string;
  status: 'received' | 'unapplied' | 'returned';
  channel: string;
  method: string;
  amountCents: number;
  receivedAt: string;
  memberId: string | null;
  enrollmentId?: string | null;
  applications: { invoiceId: string; amountCents: number; reversedAt?: string | null }[];
  creditedCents: number;
  unappliedCents: number;
  [k: string]: unknown;
}

export interface Snapshot {
  clockMs: number;
  enrollments: Map<string, Enrollment>;
  invoices: Map<string, Invoice>;
  payments: Map<string, Payment>;
}

// ---------------------------------------------------------------------------------------------
// Violations and the recording client

/** A broken SPEC promise. `kind` names the rule; the message says what was seen. */
export class Violation extends Error {
  constructor(
    readonly kind: string,
    detail: string,
  ) {
    super(`[${kind}] ${detail}`);
    this.name = 'Violation';
  }
}

/** A request the test itself got wrong (a schema 400): a bug in the test, never hidden. */
export class TestBug extends Error {
  override name = 'TestBug';
}

export interface Stats {
  sequences: number;
  commands: number;
  requests: number;
  snapshots: number;
  checks: number;
  violations: Map<string, number>;
  statuses: Map<string, number>;
  timing: Map<string, number>;
  soft: string[];
  examples: Map<string, string>;
}

export const newStats = (): Stats => ({
  sequences: 0,
  commands: 0,
  requests: 0,
  snapshots: 0,
  checks: 0,
  violations: new Map(),
  statuses: new Map(),
  timing: new Map(),
  soft: (process.env.PROP_SOFT ?? '').split(',').filter(Boolean),
  examples: new Map(),
});

export interface Answer {
  status: number;
  body: any;
  headers: Record<string, unknown>;
}

const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

export class Client {
  constructor(
    readonly ctx: TestContext,
    readonly stats: Stats,
  ) {}

  /** Any request; a 5xx (I5) or a schema 400 on what the test believes valid stops the sequence. */
  async send(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, opts: SendOpts = {}): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (opts.idempotencyKey) headers['idempotency-key'] = opts.idempotencyKey;
    const t0 = performance.now();
    const res: LightMyRequestResponse = await this.ctx.request({
      method,
      url,
      headers,
      ...(opts.payload === undefined ? {} : { payload: opts.payload as Record<string, unknown> }),
      ...(opts.key ? { key: opts.key } : {}),
    });
    this.stats.requests++;
    const k = `${method} ${routeOf(url)}`;
    this.stats.timing.set(k, (this.stats.timing.get(k) ?? 0) + (performance.now() - t0));
    let body: any = null;
    try {
      body = res.body ? JSON.parse(res.body) : null;
    } catch {
      body = res.body;
    }
    const answer = { status: res.statusCode, body, headers: res.headers as Record<string, unknown> };
    if (method !== 'GET') {
      count(this.stats.statuses, `${method} ${routeOf(url)} ${res.statusCode}${body?.code ? ` ${body.code}` : ''}`);
    }
    if (res.statusCode >= 500) {
      throw new Violation(
        'I5 no 5xx',
        `${method} ${url} answered ${res.statusCode}: ${res.body.slice(0, 400)} (request ${JSON.stringify(opts.payload ?? null)})`,
      );
    }
    if ([400, 401, 403, 413, 429].includes(res.statusCode)) {
      throw new TestBug(`${method} ${url} answered ${res.statusCode}: ${res.body.slice(0, 400)}`);
    }
    return answer;
  }

  async get(url: string): Promise<any> {
    const a = await this.send('GET', url);
    if (a.status !== 200)
      throw new Violation('read failed', `GET ${url} answered ${a.status}: ${JSON.stringify(a.body)}`);
    return a.body;
  }

  /** Walks `?limit=&after=` to the end; checks page sizes and that no id repeats across pages. */
  async list<T extends { id: string }>(path: string, query: string, limit: number): Promise<T[]> {
    const out: T[] = [];
    const seen = new Set<string>();
    let after: string | null = null;
    for (let page = 0; page < 500; page++) {
      const cursor: string = after ? `&after=${encodeURIComponent(after)}` : '';
      const body = (await this.get(`${path}?${query}&limit=${limit}${cursor}`)) as {
        data: T[];
        nextCursor: string | null;
      };
      if (!Array.isArray(body.data) || body.data.length > limit) {
        throw new Violation('pagination', `${path}?${query}: page of ${body.data?.length} rows for limit ${limit}`);
      }
      for (const row of body.data) {
        if (seen.has(row.id)) throw new Violation('pagination', `${path}?${query}: ${row.id} on two pages`);
        seen.add(row.id);
        out.push(row);
      }
      if (!body.nextCursor) return out;
      after = body.nextCursor;
    }
    throw new Violation('pagination', `${path}?${query}: more than 500 pages`);
  }
}

interface SendOpts {
  payload?: unknown;
  idempotencyKey?: string;
  key?: string;
}

const routeOf = (url: string) =>
  url
    .split('?')[0]
    ?.replace(/\/(pay|enr|inv)_[^/]+/g, '/{id}')
    .replace(/\/v1\/enrollments\/[^/]+\//, '/v1/enrollments/{id}/')
    .replace(/\/v1\/payments\/[^/]+\//, '/v1/payments/{id}/')
    .replace(/\/unapplied-payments\/[^/]+\//, '/unapplied-payments/{id}/') ?? url;

// ---------------------------------------------------------------------------------------------
// Reading the state of one sequence's world

export interface World {
  memberIds: string[];
  /** Every enrollment and payment id the API ever answered 201 for in this sequence. */
  enrollmentIds: Set<string>;
  paymentIds: Set<string>;
}

export const PAGE = 5;

export async function readSnapshot(client: Client, world: World, clockMs: number): Promise<Snapshot> {
  client.stats.snapshots++;
  const enrollments = new Map<string, Enrollment>();
  const invoices = new Map<string, Invoice>();
  const payments = new Map<string, Payment>();
  for (const memberId of world.memberIds) {
    for (const e of await client.list<Enrollment>('/v1/enrollments', `memberId=${memberId}`, PAGE)) {
      enrollments.set(e.id, e);
    }
  }
  for (const id of world.enrollmentIds) {
    if (!enrollments.has(id)) {
      throw new Violation('lost enrollment', `${id} was created (201) but is not listed for its member`);
    }
  }
  for (const e of enrollments.values()) {
    if (!world.enrollmentIds.has(e.id)) {
      throw new Violation(
        'duplicate create',
        `enrollment ${e.id} (member ${e.memberId}) exists but no request of this sequence answered 201 with it`,
      );
    }
  }
  const members = new Set([...enrollments.values()].map((e) => e.memberId));
  for (const memberId of world.memberIds) {
    if (!members.has(memberId)) continue;
    for (const i of await client.list<Invoice>('/v1/invoices', `memberId=${memberId}`, PAGE)) invoices.set(i.id, i);
    for (const p of await client.list<Payment>('/v1/payments', `memberId=${memberId}`, PAGE)) {
      if (!world.paymentIds.has(p.id)) {
        throw new Violation(
          'duplicate create',
          `payment ${p.id} of member ${memberId} exists but no request of this sequence answered 201 with it`,
        );
      }
      payments.set(p.id, p);
    }
  }
  for (const id of world.paymentIds) {
    if (!payments.has(id)) payments.set(id, (await client.get(`/v1/payments/${id}`)) as Payment);
  }
  return { clockMs, enrollments, invoices, payments };
}

/** The observable state as one comparable value (for "a refused request changed nothing"). */
export function sameState(a: Snapshot, b: Snapshot): string | null {
  for (const [name, x, y] of [
    ['enrollment', a.enrollments, b.enrollments],
    ['invoice', a.invoices, b.invoices],
    ['payment', a.payments, b.payments],
  ] as const) {
    const ids = new Set([...x.keys(), ...y.keys()]);
    for (const id of ids) {
      const before = (x as Map<string, unknown>).get(id);
      const after = (y as Map<string, unknown>).get(id);
      if (!isDeepStrictEqual(before, after)) {
        return `${name} ${id} changed: before ${JSON.stringify(before)} after ${JSON.stringify(after)}`;
      }
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// The invariants

const isLive = (i: Invoice) => i.status !== 'void';
const liveApps = (p: Payment) => (p.applications ?? []).filter((a) => !a.reversedAt);

export function checkInvariants(snap: Snapshot, stats: Stats): void {
  const check = (ok: boolean, kind: string, detail: () => string) => {
    stats.checks++;
    if (ok) return;
    if (stats.soft.some((prefix) => kind.startsWith(prefix))) {
      // Local exploration only (PROP_SOFT): counted and shown once, the sequence goes on.
      count(stats.violations, kind);
      if (!stats.examples.has(kind)) stats.examples.set(kind, detail());
      return;
    }
    throw new Violation(kind, detail());
  };
  const today = businessDate(snap.clockMs);
  const invoicesOf = new Map<string, Invoice[]>();
  for (const i of snap.invoices.values()) {
    check(snap.enrollments.has(i.enrollmentId), 'invoice of unknown enrollment', () => JSON.stringify(i));
    invoicesOf.set(i.enrollmentId, [...(invoicesOf.get(i.enrollmentId) ?? []), i]);
  }
  const notReturned = [...snap.payments.values()].filter((p) => p.status !== 'returned');

  // I4, payments: amountCents = applications + credited + unapplied, for every payment not returned.
  const appliedTo = new Map<string, number>();
  for (const p of notReturned) {
    const apps = liveApps(p);
    const sum = apps.reduce((s, a) => s + a.amountCents, 0);
    check(
      p.amountCents === sum + p.creditedCents + p.unappliedCents && p.creditedCents >= 0 && p.unappliedCents >= 0,
      'I4 payment parts',
      () =>
        `payment ${p.id} amountCents ${p.amountCents} != applications ${sum} + creditedCents ${p.creditedCents} + unappliedCents ${p.unappliedCents}: ${JSON.stringify(p)}`,
    );
    for (const a of apps) {
      check(a.amountCents > 0, 'I4 payment parts', () => `payment ${p.id} has an application of ${a.amountCents}`);
      check(
        snap.invoices.has(a.invoiceId),
        'I4 payment parts',
        () => `payment ${p.id} applied to unknown invoice ${a.invoiceId}`,
      );
      appliedTo.set(a.invoiceId, (appliedTo.get(a.invoiceId) ?? 0) + a.amountCents);
    }
  }

  for (const i of snap.invoices.values()) {
    // R1 and R15: the due date, and a status that agrees with the amounts.
    check(
      i.coverageMonth.endsWith('-01') && i.dueDate === dueDateOf(i.coverageMonth),
      'R1 due date',
      () => `invoice ${i.invoiceNumber} coverageMonth ${i.coverageMonth} dueDate ${i.dueDate}`,
    );
    if (!isLive(i)) continue;
    const fromPayments = appliedTo.get(i.id) ?? 0;
    check(
      i.amountPaidCents >= 0 && i.balanceCents >= 0 && i.balanceCents === i.amountDueCents - i.amountPaidCents,
      'I4 balance',
      () => `invoice ${i.invoiceNumber}: due ${i.amountDueCents} paid ${i.amountPaidCents} balance ${i.balanceCents}`,
    );
    if (typeof i.creditAppliedCents === 'number') {
      check(
        i.amountPaidCents === i.creditAppliedCents + fromPayments,
        'I4 invoice paid = credit applied + live applications',
        () =>
          `invoice ${i.invoiceNumber} (${i.status}, month ${i.coverageMonth}): amountPaidCents ${i.amountPaidCents} != creditAppliedCents ${i.creditAppliedCents} + live applications ${fromPayments}`,
      );
    } else {
      check(
        i.amountPaidCents >= fromPayments,
        'I4 invoice paid >= live applications',
        () => `invoice ${i.invoiceNumber}: amountPaidCents ${i.amountPaidCents} < live applications ${fromPayments}`,
      );
    }
    const expected = i.amountPaidCents === 0 ? 'open' : i.balanceCents === 0 ? 'paid' : 'partially_paid';
    check(
      i.status === expected,
      'R15 status',
      () => `invoice ${i.invoiceNumber} is ${i.status} with paid ${i.amountPaidCents} of ${i.amountDueCents}`,
    );
  }

  for (const e of snap.enrollments.values()) {
    const own = invoicesOf.get(e.id) ?? [];
    const live = own.filter(isLive);
    // I1: at most one live invoice per enrollment and coverage month.
    const months = new Map<string, string[]>();
    for (const i of live) months.set(i.coverageMonth, [...(months.get(i.coverageMonth) ?? []), i.invoiceNumber]);
    for (const [month, numbers] of months) {
      check(
        numbers.length <= 1,
        'I1 one live invoice per month',
        () => `enrollment ${e.id} (${e.status}) has live invoices ${numbers.join(', ')} for ${month}`,
      );
    }
    // I2: a cancelled enrollment has no open or partially paid invoice; a terminated one none after coverageEnd.
    if (e.status === 'cancelled') {
      const open = live.filter((i) => i.status === 'open' || i.status === 'partially_paid');
      check(
        open.length === 0,
        'I2 cancelled enrollment has no open invoice',
        () =>
          `enrollment ${e.id} is cancelled but has ${open.map((i) => `${i.invoiceNumber} (${i.coverageMonth}, ${i.status})`).join(', ')}`,
      );
    }
    if (e.status === 'terminated' && typeof e.coverageEnd === 'string') {
      const end = e.coverageEnd;
      const after = live.filter((i) => i.coverageMonth > end && i.status !== 'paid');
      check(
        after.length === 0,
        'I2 terminated enrollment has no open invoice after coverageEnd',
        () => `enrollment ${e.id} ends ${end} but has ${after.map((i) => i.invoiceNumber).join(', ')}`,
      );
    }
    // I3: credit never sits beside a balance.
    if (e.status !== 'cancelled' && e.status !== 'terminated' && e.creditCents > 0) {
      const owing = live.filter((i) => i.balanceCents > 0);
      check(
        owing.length === 0,
        'I3 credit beside a balance',
        () =>
          `enrollment ${e.id} (${e.status}) holds creditCents ${e.creditCents} while ${owing.map((i) => `${i.invoiceNumber} (${i.coverageMonth}) owes ${i.balanceCents}`).join(', ')}`,
      );
    }
    check(e.creditCents >= 0, 'I4 credit >= 0', () => `enrollment ${e.id} creditCents ${e.creditCents}`);

    // R7, R9-R11: the binder and the enrollment's status agree.
    const binder = snap.invoices.get(e.binderInvoiceId);
    check(binder !== undefined, 'R7 binder', () => `enrollment ${e.id} binder ${e.binderInvoiceId} is not listed`);
    if (!binder) continue;
    if (e.status === 'pending_payment') {
      check(
        isLive(binder) && binder.balanceCents > 0,
        'R9 pending only while the binder is unpaid',
        () =>
          `enrollment ${e.id} is pending_payment but its binder ${binder.invoiceNumber} is ${binder.status} (balance ${binder.balanceCents})`,
      );
      check(
        binder.coverageMonth === e.coverageStart &&
          binder.dueDate === e.paymentDueDate &&
          e.paymentDueDate === dueDateOf(e.coverageStart),
        'R10 binder follows the start',
        () =>
          `enrollment ${e.id} start ${e.coverageStart} due ${e.paymentDueDate}; binder ${binder.invoiceNumber} month ${binder.coverageMonth} due ${binder.dueDate}`,
      );
      check(
        e.paymentDueDate >= today,
        'R10 no stale start',
        () =>
          `enrollment ${e.id} is pending_payment with paymentDueDate ${e.paymentDueDate} already passed (today ${today})`,
      );
    }
    if (e.status === 'awaiting_confirmation') {
      check(
        isLive(binder) &&
          binder.balanceCents === 0 &&
          binder.amountPaidCents === binder.amountDueCents &&
          !!e.paidInFullAt,
        'R11 awaiting_confirmation only when the binder is paid in full',
        () =>
          `enrollment ${e.id} is awaiting_confirmation but binder ${binder.invoiceNumber} is ${binder.status} paid ${binder.amountPaidCents} of ${binder.amountDueCents} (paidInFullAt ${e.paidInFullAt})`,
      );
    }
    if (e.status === 'confirmed' && isLive(binder) && binder.balanceCents > 0) {
      check(
        (e.flags ?? []).includes('payment_returned'),
        'R25 confirmed with unpaid binder is flagged',
        () =>
          `enrollment ${e.id} is confirmed, binder ${binder.invoiceNumber} owes ${binder.balanceCents}, flags ${JSON.stringify(e.flags)}`,
      );
    }
  }

  // Money conservation: every cent received and not returned sits on a live invoice, in credit, or unapplied.
  const received = notReturned.reduce((s, p) => s + p.amountCents, 0);
  const onInvoices = [...snap.invoices.values()].filter(isLive).reduce((s, i) => s + i.amountPaidCents, 0);
  const credit = [...snap.enrollments.values()].reduce((s, e) => s + e.creditCents, 0);
  const unapplied = notReturned.reduce((s, p) => s + p.unappliedCents, 0);
  check(
    received === onInvoices + credit + unapplied,
    'I4 money conservation',
    () =>
      `received and not returned ${received} != paid on live invoices ${onInvoices} + credit ${credit} + unapplied ${unapplied}`,
  );
  // ... and per enrollment, where a payment names its enrollment.
  for (const e of snap.enrollments.values()) {
    const own = new Set((invoicesOf.get(e.id) ?? []).map((i) => i.id));
    let into = 0;
    let attributable = true;
    for (const p of notReturned) {
      const apps = liveApps(p).filter((a) => own.has(a.invoiceId));
      into += apps.reduce((s, a) => s + a.amountCents, 0);
      if (p.creditedCents > 0) {
        if (p.enrollmentId === undefined) attributable = false;
        else if (p.enrollmentId === e.id) into += p.creditedCents;
      }
    }
    if (!attributable) continue;
    const held = (invoicesOf.get(e.id) ?? []).filter(isLive).reduce((s, i) => s + i.amountPaidCents, 0) + e.creditCents;
    check(
      into === held,
      'I4 money conservation per enrollment',
      () => `enrollment ${e.id} (${e.status}): payments put in ${into} but live invoices and credit hold ${held}`,
    );
  }
}
