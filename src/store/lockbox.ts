import { type Kysely, sql } from 'kysely';
import type { Account } from '../domain/accounts.js';
import type { LockboxReconciliation, ScanLineInvoice } from '../domain/lockbox.js';
import { toAccount } from './accounts.js';
import type { DB } from './schema.js';

export interface StoredDeposit {
  requestHash: Buffer;
  answer: LockboxReconciliation;
}

/**
 * R34: lockbox deposits. A deposit is one transaction: its id's lock and stored answer (`begin`),
 * the facts its items are matched on (read once for all items), and the answer written last
 * (`save`) with the items' payments.
 */
export class LockboxStore {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * The deposit id's transaction-scoped lock (try, never wait: `locked` false while another
   * transaction records the same deposit), then, once held, the deposit as recorded.
   */
  async begin(depositId: string): Promise<{ locked: boolean; found: StoredDeposit | null }> {
    const lock = await sql<{
      locked: boolean;
    }>`select pg_try_advisory_xact_lock(hashtextextended('lockbox:' || ${depositId}, 7302)) as locked`.execute(this.db);
    if (!lock.rows[0]?.locked) return { locked: false, found: null };
    const row = await this.db
      .selectFrom('lockbox_deposits')
      .select(['request_hash', 'answer'])
      .where('deposit_id', '=', depositId)
      .executeTakeFirst();
    return {
      locked: true,
      found: row ? { requestHash: row.request_hash, answer: row.answer as LockboxReconciliation } : null,
    };
  }

  async get(depositId: string): Promise<LockboxReconciliation | null> {
    const row = await this.db
      .selectFrom('lockbox_deposits')
      .select('answer')
      .where('deposit_id', '=', depositId)
      .executeTakeFirst();
    return row ? (row.answer as LockboxReconciliation) : null;
  }

  async save(answer: LockboxReconciliation, requestHash: Buffer, actor: string, at: Date): Promise<void> {
    await this.db
      .insertInto('lockbox_deposits')
      .values({
        deposit_id: answer.depositId,
        deposit_date: answer.depositDate,
        item_count: answer.control.itemCount,
        total_cents: answer.control.totalCents,
        request_hash: requestHash,
        answer: JSON.stringify(answer),
        actor,
        created_at: at,
      })
      .execute();
  }

  /** R33: the invoices the scan lines name (void ones too), by number: one read for the deposit. */
  async invoicesByNumber(numbers: readonly string[]): Promise<Map<string, ScanLineInvoice>> {
    if (numbers.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('invoices')
      .select(['invoice_number', 'amount_due_cents'])
      .where('invoice_number', 'in', numbers)
      .execute();
    return new Map(
      rows.map((r) => [
        r.invoice_number,
        { invoiceNumber: r.invoice_number, amountDueCents: Number(r.amount_due_cents) },
      ]),
    );
  }

  /**
   * Every enrollment the deposit may pay: those of the scan lines' invoices and every enrollment of
   * the remittances' members (a superset of what matching picks), in id order. Read unlocked; the
   * caller locks them all at once (`PaymentWriteStore.contexts`).
   */
  async enrollmentIdsFor(invoiceNumbers: readonly string[], memberIds: readonly string[]): Promise<string[]> {
    if (invoiceNumbers.length === 0 && memberIds.length === 0) return [];
    const r = await sql<{ id: string }>`
      select e.id from enrollments e
      where e.id in (select i.enrollment_id from invoices i where i.invoice_number = any(${[...invoiceNumbers]}::text[]))
         or e.member_id = any(${[...memberIds]}::text[])
      order by e.id`.execute(this.db);
    return r.rows.map((row) => row.id);
  }

  /** R22: the accounts the remittances name, by Member ID (absent: no such account). */
  async accounts(memberIds: readonly string[]): Promise<Map<string, Account>> {
    if (memberIds.length === 0) return new Map();
    const rows = await this.db.selectFrom('accounts').selectAll().where('member_id', 'in', memberIds).execute();
    return new Map(rows.map((r) => [r.member_id, toAccount(r)]));
  }

  /** R22: carriers' normalised names (`name_key`), by carrier id. */
  async carrierNameKeys(carrierIds: readonly string[]): Promise<Map<string, string>> {
    if (carrierIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('carriers')
      .select(['id', 'name_key'])
      .where('id', 'in', carrierIds)
      .execute();
    return new Map(rows.map((r) => [r.id, r.name_key]));
  }
}
