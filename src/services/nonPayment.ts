import { businessDateOf } from '../domain/dates.js';
import { TERMINATION_REASON_NON_PAYMENT } from '../domain/delinquency.js';
import type { Enrollment } from '../domain/enrollment.js';
import type { Invoice } from '../domain/invoice.js';
import {
  decideStanding,
  type Reinstatement,
  restoreForPaymentInTime,
  type StandingOptions,
  type StandingRecord,
} from '../domain/nonpayment.js';
import { UNSCOPED } from '../domain/principal.js';
import type { Stores } from '../store/stores.js';

/**
 * R29/R30: records the non-payment standing of one enrollment the caller has locked, inside the
 * caller's transaction. Payments, returns, applications of unapplied money and reinstatements call
 * it before the money moves (so the anchor U is recorded as the facts showed it) and after (so a
 * cure is recorded as soon as it happens); the sweep writes the same decisions in batches
 * (`writeStandings`). `decideStanding` compares with what is recorded, so calling it again (another
 * sweep, another instance) writes nothing.
 */
export async function recordStanding(
  tx: Stores,
  e: Enrollment,
  now: Date,
  invoices?: readonly Invoice[],
  opts: StandingOptions = {},
): Promise<boolean> {
  const decision = decideStanding(e, invoices ?? (await tx.invoices.forEnrollment(e.id)), now, opts);
  if (!decision) return false;
  await writeStanding(tx, e, decision, now);
  return true;
}

export async function writeStanding(tx: Stores, e: Enrollment, decision: StandingRecord, now: Date): Promise<void> {
  await tx.reconciliations.write(decision.reconciliation, now);
  await tx.notices.queueNonPayment(
    decision.notices.map((notice) => ({ notice, memberId: e.memberId, enrollmentId: e.id })),
    now,
  );
}

/** A decision that only records an episode (no termination): the sweep writes many in one go. */
export function onlyRecords(d: StandingRecord): boolean {
  return d.transitions.every((t) => t.kind !== 'terminated');
}

/**
 * The sweep's batched write of decisions that `onlyRecords`: four statements for the whole batch
 * (episodes, history, events, notices) instead of several per enrollment.
 */
export async function writeStandings(
  tx: Stores,
  items: readonly { e: Enrollment; decision: StandingRecord }[],
  now: Date,
): Promise<void> {
  await tx.enrollments.recordDelinquencies(
    items.map(({ e, decision }) => ({
      id: e.id,
      recorded: decision.reconciliation.enrollment?.recordedDelinquency ?? null,
    })),
    now,
  );
  await tx.enrollments.addHistoryOf(
    items.flatMap(({ e, decision }) => decision.reconciliation.history.map((entry) => ({ enrollmentId: e.id, entry }))),
  );
  await tx.appendEvents(items.flatMap(({ decision }) => decision.reconciliation.events));
  await tx.notices.queueNonPayment(
    items.flatMap(({ e, decision }) =>
      decision.notices.map((notice) => ({ notice, memberId: e.memberId, enrollmentId: e.id })),
    ),
    now,
  );
}

/** `recordStanding` after a write changed the facts: re-read (the lock is held) and record. */
export async function recordStandingAfter(
  tx: Stores,
  enrollmentId: string,
  now: Date,
  opts: StandingOptions = {},
): Promise<void> {
  const e = await tx.enrollments.get(enrollmentId, UNSCOPED, { forUpdate: true, history: false });
  if (e && (e.recordedDelinquency || e.status === 'confirmed' || e.status === 'awaiting_confirmation')) {
    await recordStanding(tx, e, now, undefined, opts);
  }
}

/** R31: writes a decided reinstatement (the enrollment back, open months paid and months reissued from credit). */
export async function writeReinstatement(tx: Stores, r: Reinstatement, now: Date): Promise<void> {
  await tx.reconciliations.write(r.reconciliation, now);
  // One month per statement: `insertMonthly` takes each invoice's credit once per enrollment.
  for (const invoice of r.reissued) await tx.invoices.insertMonthly([invoice], now);
}

/**
 * R2 with R30: money whose business date is before a recorded termination's date (a check the
 * lockbox received by the pay-by date, posted after the sweep terminated the enrollment; unapplied
 * mail applied later) was paid in time. It became credit (R24); the enrollment is restored
 * (`restoreForPaymentInTime`: its months paid from credit as far as it goes) when, so restored, its
 * standing as of the termination's date and as of the payment shows no termination: the money would
 * have prevented it. Otherwise nothing changes and the money stays credit (R31 can use it).
 */
export async function restorePaidInTime(
  tx: Stores,
  before: Enrollment,
  payment: { receivedAt: Date; creditedCents: number },
  actor: string,
  now: Date,
): Promise<boolean> {
  const { receivedAt } = payment;
  if (before.status !== 'terminated' || !before.terminatedOn) return false;
  if (before.terminationReason !== TERMINATION_REASON_NON_PAYMENT) return false;
  // In time means by the terminated episode's last pay-by date (R2), not merely before the recorded
  // termination: one a return caused is dated at the return, days after that pay-by date.
  const payBy = await tx.notices.lastTerminationPayBy(before.id);
  if (!payBy || businessDateOf(receivedAt) > payBy || businessDateOf(receivedAt) >= before.terminatedOn) return false;
  const e = await tx.enrollments.get(before.id, UNSCOPED, { forUpdate: true, history: false });
  if (e?.status !== 'terminated') return false;
  const account = await tx.accounts.get(e.memberId);
  const r = restoreForPaymentInTime(e, await tx.invoices.forEnrollment(e.id), now, {
    actor,
    paperless: account?.paperless === true,
    paidInTimeCents: payment.creditedCents,
    receivedAt,
  });
  if (!r) return false;
  await writeReinstatement(tx, r, now);
  return true;
}
