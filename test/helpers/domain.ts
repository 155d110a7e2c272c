/**
 * Builders for the domain unit tests: an enrollment and its invoices as the store hands them to the
 * domain (before any projection). Defaults: a health enrollment at 450.00 a month, chosen start
 * 2027-01-01 (due 2026-12-23), checked out on 2026-12-05, binder not paid yet.
 */
import type { Test } from 'tap';
import { massachusettsCalendar } from '../../src/domain/calendar.js';
import type { IsoDate } from '../../src/domain/dates.js';
import type { Enrollment } from '../../src/domain/enrollment.js';
import type { Invoice } from '../../src/domain/invoice.js';
import { decideReturn, type Reconciliation } from '../../src/domain/reconcile.js';
import type { InvoiceChange } from '../../src/domain/settlement.js';

export const PREMIUM = 45000;

export function enrollment(over: Partial<Enrollment> = {}): Enrollment {
  return {
    id: 'enr_1',
    memberId: '100000000001',
    carrierId: 'c',
    coverageType: 'health',
    planName: 'P',
    monthlyPremiumCents: PREMIUM,
    status: 'pending_payment',
    chosenCoverageStart: '2027-01-01' as IsoDate,
    coverageStart: '2027-01-01' as IsoDate,
    selectedAt: new Date('2026-12-05T15:00:00Z'),
    binderInvoiceId: 'inv_b',
    subscriber: { firstName: 'A', lastName: 'B' },
    paidInFullAt: null,
    confirmationExpectedBy: null,
    idCardExpectedBy: null,
    confirmedAt: null,
    carrierPolicyId: null,
    cancelledAt: null,
    creditCents: 0,
    flags: [],
    createdAt: new Date('2026-12-05T15:00:00Z'),
    history: [],
    subsidy: 'none',
    coverageEnd: null,
    terminationReason: null,
    terminatedAt: null,
    terminatedOn: null,
    statusBeforeTermination: null,
    recordedDelinquency: null,
    ...over,
  };
}

/** An enrollment whose binder was paid in full on Saturday 2026-12-05 (R11 dates filled in). */
export function paidEnrollment(over: Partial<Enrollment> = {}): Enrollment {
  return enrollment({
    status: 'awaiting_confirmation',
    paidInFullAt: new Date('2026-12-05T15:00:00Z'),
    confirmationExpectedBy: '2026-12-11' as IsoDate,
    idCardExpectedBy: '2026-12-19' as IsoDate,
    ...over,
  });
}

/** A regular invoice of `month` (due the 23rd of the month before, R1). */
export function invoice(id: string, month: string, over: Partial<Invoice> = {}): Invoice {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const due = new Date(Date.UTC(y, m - 2, 23)).toISOString().slice(0, 10);
  return {
    id,
    invoiceNumber: id,
    enrollmentId: 'enr_1',
    memberId: '100000000001',
    coverageMonth: month as IsoDate,
    dueDate: due as IsoDate,
    amountDueCents: PREMIUM,
    amountPaidCents: 0,
    creditAppliedCents: 0,
    isBinder: false,
    delivery: 'mail',
    issuedAt: new Date('2026-12-10T15:00:00Z'),
    voidedAt: null,
    ...over,
  };
}

/** The binder invoice `inv_b` of 2027-01-01. */
export const binder = (over: Partial<Invoice> = {}): Invoice =>
  invoice('inv_b', '2027-01-01', { isBinder: true, ...over });

/** R25: the decision for returning payment `pay_1` (ACH R01, by ops), whose amount is its applications and credit. */
export function returnDecision(r: {
  enrollment: Enrollment;
  invoices: Invoice[];
  applications: { invoiceId: string; amountCents: number }[];
  creditedCents?: number | undefined;
  now: string;
}): Reconciliation {
  const creditedCents = r.creditedCents ?? 0;
  return decideReturn({
    enrollment: r.enrollment,
    invoices: r.invoices,
    applications: r.applications,
    creditedCents,
    paymentId: 'pay_1',
    amountCents: r.applications.reduce((s, a) => s + a.amountCents, 0) + creditedCents,
    reasonCode: 'R01',
    now: new Date(r.now),
    actor: 'key_ops',
    calendar: massachusettsCalendar,
  });
}

/** Asserts, per invoice id, the fields of its change that a row expects (others may be there too). */
export function matchInvoiceChanges(
  t: Test,
  changes: InvoiceChange[],
  expected: Record<string, Record<string, unknown>> | undefined,
  msg: (what: string) => string,
): void {
  for (const [id, want] of Object.entries(expected ?? {})) {
    t.match(
      changes.find((c) => c.invoiceId === id),
      want,
      msg(`invoice ${id}`),
    );
  }
}
