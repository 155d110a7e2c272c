import type { Kysely } from 'kysely';
import type { Reconciliation } from '../domain/reconcile.js';
import type { InvoiceChange } from '../domain/settlement.js';
import { EnrollmentStore } from './enrollments.js';
import { appendEvents } from './events.js';
import type { DB } from './schema.js';

/**
 * Writes a decision of `src/domain/reconcile.ts` (a returned payment, recorded missed deadlines) for
 * one enrollment the caller has locked: invoices (voids first), the enrollment, history, events.
 */
export class ReconciliationStore {
  constructor(private readonly db: Kysely<DB>) {}

  /** In the order given: the domain lists voids first so no write holds two live invoices for a month. */
  async writeInvoiceChanges(changes: readonly InvoiceChange[]): Promise<void> {
    for (const c of changes) {
      await this.db
        .updateTable('invoices')
        .set((eb) => ({
          amount_paid_cents: eb('amount_paid_cents', '+', c.paidDeltaCents),
          ...(c.creditDeltaCents ? { credit_applied_cents: eb('credit_applied_cents', '+', c.creditDeltaCents) } : {}),
          ...(c.coverageMonth ? { coverage_month: c.coverageMonth } : {}),
          ...(c.dueDate ? { due_date: c.dueDate } : {}),
          ...(c.voidedAt ? { voided_at: c.voidedAt } : {}),
        }))
        .where('id', '=', c.invoiceId)
        .execute();
    }
  }

  async write(r: Reconciliation, now: Date): Promise<void> {
    await this.writeInvoiceChanges(r.invoices);
    const enrollments = new EnrollmentStore(this.db);
    if (r.enrollment) await enrollments.update(r.enrollmentId, r.enrollment, now);
    await enrollments.addHistory(r.enrollmentId, r.history);
    await appendEvents(this.db, r.events);
  }
}
