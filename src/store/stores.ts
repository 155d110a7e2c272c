import { type Kysely, sql } from 'kysely';
import type { IsoDate } from '../domain/dates.js';
import type { FeedEvent, FeedPosition } from '../domain/events.js';
import type { Scope } from '../domain/principal.js';
import { AccountStore } from './accounts.js';
import { AchStore } from './ach.js';
import { ApiKeyStore } from './apiKeys.js';
import { CarrierStore } from './carriers.js';
import type { FieldCipher } from './crypto.js';
import { EnrollmentStore } from './enrollments.js';
import { appendEvents, type NewEvent } from './events.js';
import { readFeed } from './feed.js';
import { IdempotencyStore } from './idempotency.js';
import { InvoiceStore } from './invoices.js';
import { LockboxStore } from './lockbox.js';
import { NoticeStore } from './notices.js';
import { PaymentStore } from './payments.js';
import { PaymentWriteStore } from './paymentWrites.js';
import { ReconciliationStore } from './reconciliations.js';
import type { DB } from './schema.js';

/** A finished billing run as `billing_runs` records it (R16). */
export interface BillingRunRecord {
  coverageMonth: IsoDate;
  issuedCount: number;
  creditAppliedCents: number;
  failedCount: number;
  startedAt: Date;
  finishedAt: Date;
  actor: string;
}

/**
 * The unit of work services see: every store bound to one connection pool or to one transaction.
 * Services never hold a `Kysely` handle; they ask for `transaction(work)` and get a `Stores` whose
 * stores all run inside it (savepoints included). Built once in the composition root (src/app.ts).
 */
export class Stores {
  readonly accounts: AccountStore;
  /** Without the key cache: creating a key needs no cache notification (revocation goes through the cached store). */
  readonly apiKeys: ApiKeyStore;
  readonly carriers: CarrierStore;
  readonly enrollments: EnrollmentStore;
  readonly invoices: InvoiceStore;
  readonly payments: PaymentStore;
  /** The payment hot path: one call reads the locked context, one call writes the decision. */
  readonly paymentWrites: PaymentWriteStore;
  readonly reconciliations: ReconciliationStore;
  readonly notices: NoticeStore;
  readonly idempotency: IdempotencyStore;
  readonly lockbox: LockboxStore;
  /** R35/R36: ACH files (their bodies encrypted) and return files. */
  readonly ach: AchStore;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly options: { cipher?: FieldCipher | undefined } = {},
  ) {
    this.accounts = new AccountStore(db);
    this.apiKeys = new ApiKeyStore(db);
    this.carriers = new CarrierStore(db);
    this.enrollments = new EnrollmentStore(db);
    this.invoices = new InvoiceStore(db);
    this.payments = new PaymentStore(db);
    this.paymentWrites = new PaymentWriteStore(db, options.cipher);
    this.reconciliations = new ReconciliationStore(db);
    this.notices = new NoticeStore(db);
    this.idempotency = new IdempotencyStore(db);
    this.lockbox = new LockboxStore(db);
    this.ach = new AchStore(db, options.cipher);
  }

  /** Runs `work` in one transaction (READ COMMITTED); its `Stores` are bound to that transaction. */
  transaction<T>(work: (stores: Stores) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(new Stores(trx, this.options)));
  }

  /** Savepoints, for use inside `transaction`: a step that may fail is undone alone. */
  async savepoint(name: string): Promise<void> {
    await sql.raw(`savepoint ${savepointName(name)}`).execute(this.db);
  }

  async releaseSavepoint(name: string): Promise<void> {
    await sql.raw(`release savepoint ${savepointName(name)}`).execute(this.db);
  }

  async rollbackToSavepoint(name: string): Promise<void> {
    await sql.raw(`rollback to savepoint ${savepointName(name)}`).execute(this.db);
  }

  /** Outbox writes: always inside the transaction of the change they describe. */
  appendEvents(events: NewEvent[]): Promise<void> {
    return appendEvents(this.db, events);
  }

  /** R27: a page of the events feed after `position`. */
  readFeed(position: FeedPosition, scope: Scope, limit: number): Promise<{ events: FeedEvent[]; next: FeedPosition }> {
    return readFeed(this.db, position, scope, limit);
  }

  /** Records a finished billing run; returns its id. */
  async recordBillingRun(run: BillingRunRecord): Promise<string> {
    const row = await this.db
      .insertInto('billing_runs')
      .values({
        coverage_month: run.coverageMonth,
        issued_count: run.issuedCount,
        credit_applied_cents: run.creditAppliedCents,
        failed_count: run.failedCount,
        started_at: run.startedAt,
        finished_at: run.finishedAt,
        actor: run.actor,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }
}

/** Savepoint names are code constants; this keeps them plain identifiers all the same. */
function savepointName(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad savepoint name ${name}`);
  return name;
}
