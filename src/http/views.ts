import type { Account } from '../domain/accounts.js';
import type { BusinessCalendar } from '../domain/calendar.js';
import type { Carrier } from '../domain/carrier.js';
import { actorSeenBy, type EnrollmentProjection, type ReadProjection } from '../domain/enrollment.js';
import type { InvoiceDetail } from '../domain/invoice.js';
import { balanceCents, expectedDelivery, invoiceStatus, paymentSlip } from '../domain/invoice.js';
import type { Payment } from '../domain/payment.js';
import type { ApiKey, Principal } from '../domain/principal.js';
import type { BillingRun, EnrollmentListRow, ProjectedListRow } from '../services/billing.js';

/** Domain objects to API shapes: the contract does not follow the schema of a table. */
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function accountView(a: Account) {
  return {
    memberId: a.memberId,
    firstName: a.firstName,
    lastName: a.lastName,
    mailingAddress: a.mailingAddress,
    phoneNumbers: a.phoneNumbers,
    paperless: a.paperless,
    createdAt: a.createdAt.toISOString(),
  };
}

/** An enrollment as `viewer` may see it (history actors: `actorSeenBy`). */
export function enrollmentView(e: EnrollmentProjection, viewer: Principal) {
  return {
    id: e.id,
    memberId: e.memberId,
    carrierId: e.carrierId,
    coverageType: e.coverageType,
    planName: e.planName,
    monthlyPremiumCents: e.monthlyPremiumCents,
    status: e.status,
    coverageStart: e.coverageStart,
    chosenCoverageStart: e.chosenCoverageStart,
    paymentDueDate: e.paymentDueDate,
    binderInvoiceId: e.binderInvoiceId,
    subscriber: e.subscriber,
    selectedAt: e.selectedAt.toISOString(),
    paidInFullAt: iso(e.paidInFullAt),
    confirmationExpectedBy: e.confirmationExpectedBy,
    confirmationOverdue: e.confirmationOverdue,
    idCardExpectedBy: e.idCardExpectedBy,
    confirmedAt: iso(e.confirmedAt),
    carrierPolicyId: e.carrierPolicyId,
    cancelledAt: iso(e.cancelledAt),
    creditCents: e.creditCents,
    flags: e.flags,
    createdAt: e.createdAt.toISOString(),
    history: e.history.map((h) => ({
      at: h.at.toISOString(),
      type: h.type,
      from: h.from,
      to: h.to,
      reason: h.reason,
      actor: actorSeenBy(viewer, h),
    })),
    subsidy: e.subsidy,
    delinquency: e.delinquency
      ? {
          stage: e.delinquency.stage,
          firstUnpaidMonth: e.delinquency.firstUnpaidMonth,
          payBy: e.delinquency.payBy,
          amountOwedCents: e.delinquency.amountOwedCents,
          monthsOwed: e.delinquency.monthsOwed,
        }
      : null,
    coverageEnd: e.coverageEnd,
    terminationReason: e.terminationReason,
    terminatedAt: iso(e.terminatedAt),
  };
}

const json = JSON.stringify;
const jsonOrNull = (v: string | null) => (v === null ? 'null' : JSON.stringify(v));

/**
 * The list route's page written as JSON text (issue 16: the carriers' work-queue page): the same
 * bytes as `pageView(page, (e) => enrollmentView(e, viewer))` serialized by the route's response
 * schema (fields in the schema's order, strings escaped as `JSON.stringify` does, which is what the
 * schema's serializer does), written from the lean rows and their projections without building the
 * view objects or `Date`s. test/http/work-queue-page.test.ts holds the two to the same bytes.
 */
export function enrollmentPageJson(
  page: { data: ProjectedListRow[]; nextCursor: string | null },
  viewer: Principal,
): string {
  let out = '{"data":[';
  for (let i = 0; i < page.data.length; i++) {
    const item = page.data[i] as ProjectedListRow;
    if (i > 0) out += ',';
    out += enrollmentListItemJson(item.row, item.projection, viewer);
  }
  return `${out}],"nextCursor":${jsonOrNull(page.nextCursor)}}`;
}

function enrollmentListItemJson(r: EnrollmentListRow, p: ReadProjection, viewer: Principal): string {
  const t = p.termination;
  let history = '';
  if (r.history) {
    for (const [at, type, from, to, reason, actor, actorRole] of r.history) {
      if (history) history += ',';
      history += historyJson(at, type, from, to, reason, actorSeenBy(viewer, { actor, actorRole }));
    }
  }
  for (const h of p.addedHistory) {
    if (history) history += ',';
    history += historyJson(h.at.toISOString(), h.type, h.from, h.to, h.reason, actorSeenBy(viewer, h));
  }
  const d = p.delinquency;
  return (
    `{"id":${json(r.id)},"memberId":${json(r.memberId)},"carrierId":${json(r.carrierId)}` +
    `,"coverageType":${json(r.coverageType)},"planName":${json(r.planName)}` +
    `,"monthlyPremiumCents":${r.monthlyPremiumCents},"status":${json(p.status)}` +
    `,"coverageStart":${json(p.coverageStart)},"chosenCoverageStart":${json(r.chosenCoverageStart)}` +
    `,"paymentDueDate":${json(p.paymentDueDate)},"binderInvoiceId":${jsonOrNull(r.binderInvoiceId)}` +
    `,"subscriber":{"firstName":${json(r.firstName)},"lastName":${json(r.lastName)}}` +
    `,"selectedAt":${json(r.selectedAt)},"paidInFullAt":${jsonOrNull(r.paidInFullAt)}` +
    `,"confirmationExpectedBy":${jsonOrNull(r.confirmationExpectedBy)},"confirmationOverdue":${p.confirmationOverdue}` +
    `,"idCardExpectedBy":${jsonOrNull(r.idCardExpectedBy)},"confirmedAt":${jsonOrNull(r.confirmedAt)}` +
    `,"carrierPolicyId":${jsonOrNull(r.carrierPolicyId)},"cancelledAt":${jsonOrNull(r.cancelledAt)}` +
    `,"creditCents":${p.creditCents},"flags":${json(r.flags)},"createdAt":${json(r.createdAt)}` +
    `,"history":[${history}],"subsidy":${json(r.subsidy)}` +
    `,"delinquency":${
      d
        ? `{"stage":${json(d.stage)},"firstUnpaidMonth":${json(d.firstUnpaidMonth)},"payBy":${json(d.payBy)}` +
          `,"amountOwedCents":${d.amountOwedCents},"monthsOwed":${json(d.monthsOwed)}}`
        : 'null'
    }` +
    (t
      ? `,"coverageEnd":${json(t.coverageEnd)},"terminationReason":${json(t.reason)}` +
        `,"terminatedAt":${json(t.terminatedAt.toISOString())}}`
      : `,"coverageEnd":${jsonOrNull(r.coverageEnd)},"terminationReason":${jsonOrNull(r.terminationReason)}` +
        `,"terminatedAt":${jsonOrNull(r.terminatedAt)}}`)
  );
}

function historyJson(
  at: string,
  type: string,
  from: string | null,
  to: string,
  reason: string | null,
  actor: string,
): string {
  return `{"at":${json(at)},"type":${json(type)},"from":${jsonOrNull(from)},"to":${json(to)},"reason":${jsonOrNull(reason)},"actor":${json(actor)}}`;
}

export function invoiceView(i: InvoiceDetail, calendar: BusinessCalendar) {
  const delivery = expectedDelivery(i, calendar);
  return {
    id: i.id,
    invoiceNumber: i.invoiceNumber,
    enrollmentId: i.enrollmentId,
    memberId: i.memberId,
    carrierId: i.carrierId,
    coverageMonth: i.coverageMonth,
    amountDueCents: i.amountDueCents,
    amountPaidCents: i.amountPaidCents,
    balanceCents: balanceCents(i),
    creditAppliedCents: i.creditAppliedCents,
    dueDate: i.dueDate,
    status: invoiceStatus(i),
    binder: i.isBinder,
    delivery: i.delivery,
    ...(delivery ? { expectedDelivery: delivery } : {}),
    issuedAt: i.issuedAt.toISOString(),
    voidedAt: iso(i.voidedAt),
    paymentSlip: paymentSlip(i, i.subscriber, i.carrierName),
  };
}

export function paymentView(p: Payment) {
  return {
    id: p.id,
    status: p.status,
    channel: p.channel,
    method: p.method,
    amountCents: p.amountCents,
    receivedAt: p.receivedAt.toISOString(),
    memberId: p.memberId,
    enrollmentId: p.enrollmentId,
    guest: p.guest,
    applications: p.applications.map((a) => ({
      invoiceId: a.invoiceId,
      amountCents: a.amountCents,
      appliedAt: a.appliedAt.toISOString(),
      reversedAt: iso(a.reversedAt),
    })),
    creditedCents: p.creditedCents,
    unappliedCents: p.unappliedCents,
    ...(p.bankAccount ? { bankAccount: p.bankAccount } : {}),
    ...(p.card ? { card: p.card } : {}),
    ...(p.check ? { check: p.check } : {}),
    ...(p.moneyOrder ? { moneyOrder: p.moneyOrder } : {}),
    returnedAt: iso(p.returnedAt),
    returnReasonCode: p.returnReasonCode,
    achFileId: p.achFileId,
    traceNumber: p.traceNumber,
    createdAt: p.createdAt.toISOString(),
  };
}

export const carrierView = (c: Carrier) => ({ id: c.id, name: c.name, createdAt: c.createdAt.toISOString() });

export const apiKeyView = (k: ApiKey) => ({
  id: k.id,
  role: k.role,
  carrierId: k.carrierId,
  name: k.name,
  createdAt: k.createdAt.toISOString(),
});

export const revokedKeyView = (k: ApiKey) => ({ ...apiKeyView(k), revokedAt: iso(k.revokedAt) });

/** A new key answers its secret once; the stored (replayed) answer has `secret: null`. */
export const createdKeyAnswer = ({ key, secret }: { key: ApiKey; secret: string }) => ({
  status: 201,
  body: { ...apiKeyView(key), secret },
  stored: { ...apiKeyView(key), secret: null },
});

export const billingRunView = (run: BillingRun) => ({
  ...run,
  startedAt: run.startedAt.toISOString(),
  finishedAt: run.finishedAt.toISOString(),
});

export const sweepView = (r: {
  enrollmentsMoved: number;
  standingsRecorded: number;
  enrollmentsFailed: number;
  asOf: Date;
}) => ({
  enrollmentsMoved: r.enrollmentsMoved,
  standingsRecorded: r.standingsRecorded,
  enrollmentsFailed: r.enrollmentsFailed,
  asOf: r.asOf.toISOString(),
});

/** A notice; the non-payment fields only on the notices that carry them (R29/R30). */
export const noticeView = <
  N extends {
    createdAt: Date;
    payBy: string | null;
    amountOwedCents: number | null;
    monthsOwed: string[] | null;
    coverageEnd: string | null;
  },
>(
  n: N,
) => {
  const { payBy, amountOwedCents, monthsOwed, coverageEnd, ...common } = n;
  const base = { ...common, createdAt: n.createdAt.toISOString() };
  if (payBy === null) return base;
  return { ...base, payBy, amountOwedCents, monthsOwed, ...(coverageEnd ? { coverageEnd } : {}) };
};

export const eventView = <E extends { occurredAt: Date }>(e: E) => ({ ...e, occurredAt: e.occurredAt.toISOString() });

export const overdueView = (e: EnrollmentProjection & { businessDaysOverdue: number }, viewer: Principal) => ({
  ...enrollmentView(e, viewer),
  businessDaysOverdue: e.businessDaysOverdue,
});

/** A page of domain objects as the API shows it. */
export const pageView = <T, V>(page: { data: T[]; nextCursor: string | null }, view: (item: T) => V) => ({
  data: page.data.map(view),
  nextCursor: page.nextCursor,
});
