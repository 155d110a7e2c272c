import type { BusinessCalendar } from './calendar.js';
import type { Enrollment } from './enrollment.js';
import type { Invoice } from './invoice.js';
import type { Payment } from './payment.js';
import { decideReturn, type Reconciliation } from './reconcile.js';
import type { DomainEvent } from './settlement.js';

/** Everything a returned payment changes, decided before anything is written (R25). */
export interface Reversal {
  /** The payment as `markReturned` left it: `returned`, its live applications reversed. */
  payment: Payment;
  /** One per enrollment the payment touched, in lock (id) order. */
  reconciliations: Reconciliation[];
  /** Events not carried by a reconciliation: `payment.returned` when the payment touched no enrollment. */
  events: DomainEvent[];
}

/** The payment's applications not yet reversed. */
export function liveApplications(p: Payment): Payment['applications'] {
  return p.applications.filter((a) => a.reversedAt === null);
}

/**
 * R25: the enrollments a returned payment touches, in the order they are locked (by id, the order
 * every writer that locks several uses): those of its live applications' invoices, and its own
 * (which holds the credit it made).
 */
export function reversalEnrollmentIds(p: Payment, invoiceEnrollmentIds: readonly string[]): string[] {
  return [...new Set([...invoiceEnrollmentIds, ...(p.enrollmentId ? [p.enrollmentId] : [])])].sort();
}

export interface ReversalInput {
  /** The payment as stored (locked). */
  payment: Payment;
  /** `markReturned(payment, ...)`: the transition, already checked (R25 refusals come first). */
  returned: Payment;
  /** The touched enrollments (locked, as stored) with all their invoices read after the lock. */
  enrollments: readonly { enrollment: Enrollment; invoices: readonly Invoice[] }[];
  now: Date;
  actor: string;
  calendar: BusinessCalendar;
}

/**
 * R25 (with I3, R10): a returned payment is undone on each enrollment it touched (`decideReturn`:
 * its applications there, and on its own enrollment the credit it made); a payment that touched no
 * enrollment (unapplied, or its enrollment gone) records only `payment.returned`.
 */
export function decideReversal(input: ReversalInput): Reversal {
  const { payment, returned, now } = input;
  const reasonCode = returned.returnReasonCode ?? '';
  const live = liveApplications(payment);
  const reconciliations = input.enrollments.map(({ enrollment, invoices }) => {
    const ids = new Set(invoices.map((i) => i.id));
    return decideReturn({
      enrollment,
      invoices,
      applications: live.filter((a) => ids.has(a.invoiceId)),
      creditedCents: payment.enrollmentId === enrollment.id ? payment.creditedCents : 0,
      paymentId: payment.id,
      amountCents: payment.amountCents,
      reasonCode,
      now,
      actor: input.actor,
      calendar: input.calendar,
    });
  });
  const events: DomainEvent[] =
    reconciliations.length > 0
      ? []
      : [
          {
            type: 'payment.returned',
            occurredAt: now,
            memberId: payment.memberId,
            paymentId: payment.id,
            data: { reasonCode, amountCents: payment.amountCents },
          },
        ];
  return { payment: returned, reconciliations, events };
}
