import type { Enrollment } from '../domain/enrollment.js';
import type { Invoice } from '../domain/invoice.js';
import { decideStanding } from '../domain/nonpayment.js';
import { UNSCOPED } from '../domain/principal.js';
import type { Stores } from '../store/stores.js';

/**
 * R29/R30: records the non-payment standing of one enrollment the caller has locked, inside the
 * caller's transaction. The sweep calls it for every candidate; payments, returns and applications
 * of unapplied money call it before the money moves (so the anchor U is recorded as the facts showed
 * it) and after (so a cure is recorded as soon as it happens). `decideStanding` compares with what
 * is recorded, so calling it again (another sweep, another instance) writes nothing.
 */
export async function recordStanding(
  tx: Stores,
  e: Enrollment,
  now: Date,
  invoices?: readonly Invoice[],
): Promise<boolean> {
  const decision = decideStanding(e, invoices ?? (await tx.invoices.forEnrollment(e.id)), now);
  if (!decision) return false;
  await tx.reconciliations.write(decision.reconciliation, now);
  for (const n of decision.notices) await tx.notices.queueNonPayment(n, e.memberId, e.id, now);
  return true;
}

/** `recordStanding` after a write changed the facts: re-read (the lock is held) and record. */
export async function recordStandingAfter(tx: Stores, enrollmentId: string, now: Date): Promise<void> {
  const e = await tx.enrollments.get(enrollmentId, UNSCOPED, { forUpdate: true, history: false });
  if (e && (e.recordedDelinquency || e.status === 'confirmed' || e.status === 'awaiting_confirmation')) {
    await recordStanding(tx, e, now);
  }
}
