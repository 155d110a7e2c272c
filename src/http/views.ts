import type { Account } from '../domain/accounts.js';
import type { BusinessCalendar } from '../domain/calendar.js';
import { actorSeenBy, type EnrollmentProjection } from '../domain/enrollment.js';
import type { InvoiceDetail } from '../domain/invoice.js';
import { balanceCents, expectedDelivery, invoiceStatus, paymentSlip } from '../domain/invoice.js';
import type { Principal } from '../domain/principal.js';

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
  };
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
