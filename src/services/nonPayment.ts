import type { Enrollment } from '../domain/enrollment.js';
import type { Invoice } from '../domain/invoice.js';
import { decideStanding, type StandingRecord } from '../domain/nonpayment.js';
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
): Promise<boolean> {
  const decision = decideStanding(e, invoices ?? (await tx.invoices.forEnrollment(e.id)), now);
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
export async function recordStandingAfter(tx: Stores, enrollmentId: string, now: Date): Promise<void> {
  const e = await tx.enrollments.get(enrollmentId, UNSCOPED, { forUpdate: true, history: false });
  if (e && (e.recordedDelinquency || e.status === 'confirmed' || e.status === 'awaiting_confirmation')) {
    await recordStanding(tx, e, now);
  }
}
