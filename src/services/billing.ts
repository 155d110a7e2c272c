import type { Account } from '../domain/accounts.js';
import { type BillContent, billContent } from '../domain/bill.js';
import { binderInvoice, monthlyInvoices } from '../domain/billing.js';
import type { BusinessCalendar } from '../domain/calendar.js';
import type { Clock } from '../domain/clock.js';
import { businessDateOf, type IsoDate } from '../domain/dates.js';
import { earliestCoverageStart, paymentDueDate } from '../domain/deadlines.js';
import { canBeDelinquent, type DelinquencyStage, type InvoiceFacts, type Subsidy } from '../domain/delinquency.js';
import {
  BILLABLE_STATUSES,
  type CoverageType,
  cancel,
  checkoutCoverageStart,
  created,
  ENROLLMENT_STATUSES,
  type Enrollment,
  type EnrollmentProjection,
  missedDeadlineMoves,
  type ProjectionInput,
  projectEnrollment,
  type ReadProjection,
  readProjection,
} from '../domain/enrollment.js';
import { DomainError, notFound } from '../domain/errors.js';
import { type Invoice, invoiceStatus, projectBinder } from '../domain/invoice.js';
import {
  decideStanding,
  type ProjectedTermination,
  projectedTermination,
  projectTermination,
  reinstate,
  type StandingRecord,
} from '../domain/nonpayment.js';
import { type Principal, type Scope, scopeOf, UNSCOPED } from '../domain/principal.js';
import { decideMissedDeadlines } from '../domain/reconcile.js';
import { businessTimestamp } from '../domain/timestamps.js';
import type { EnrollmentFilter, EnrollmentListRow } from '../store/enrollments.js';
import { isEnrollmentFailure } from '../store/errors.js';
import type { BillingRunResult, InvoiceDetail, InvoiceFilter, SeqRange } from '../store/invoices.js';
import type { Page } from '../store/pagination.js';
import type { Stores } from '../store/stores.js';
import { type Answered, type Idempotent, IdempotentTransactions } from './idempotency.js';
import { onlyRecords, recordStanding, writeReinstatement, writeStanding, writeStandings } from './nonPayment.js';

/**
 * Enrollments per billing-run transaction: 0.1 to 0.2 s of database work each (docs/decisions.md,
 * "Billing run speed"), so the events feed is never held back for long (R27).
 */
export const BILLING_RUN_CHUNK = 4_000;
/** Chunks in flight at once (each on its own pooled connection). */
export const BILLING_RUN_PARALLELISM = 2;
/** I5: enrollments a run sets aside before it concludes the failure is not theirs and stops. */
export const BILLING_RUN_MAX_FAILURES = 100;

/** Where per-enrollment failures of sweeps and runs are reported (ids and error codes only, never data). */
export interface WarnLog {
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface CheckoutInput {
  memberId: string;
  carrierId: string;
  coverageType: CoverageType;
  planName: string;
  monthlyPremiumCents: number;
  coverageStart?: IsoDate | undefined;
  selectedAt?: Date | undefined;
  /** R28: default none. */
  subsidy?: Subsidy | undefined;
}

/** Enrollments locked per sweep transaction. */
export const SWEEP_BATCH = 200;

export interface SweepResult {
  /** R10: pending enrollments whose missed deadlines were recorded. */
  enrollmentsMoved: number;
  /** R29/R30: enrollments whose non-payment standing changed and was recorded. */
  standingsRecorded: number;
  enrollmentsFailed: number;
  asOf: Date;
}

export interface BillingRun {
  id: string;
  coverageMonth: IsoDate;
  dueDate: IsoDate;
  issuedCount: number;
  creditAppliedCents: number;
  /** Enrollments the run could not bill (each logged by id); running the month again retries them. */
  failedCount: number;
  startedAt: Date;
  finishedAt: Date;
}

/**
 * Use cases for accounts, enrollments and invoices. Each owns its transaction; stores run inside it.
 */
/** The statuses `canBeDelinquent` allows: only their invoices can show a termination not yet recorded. */
const DELINQUENCY_CAPABLE = ENROLLMENT_STATUSES.filter(canBeDelinquent);

/** An invoice as reads show it: R10's binder moves, and R30's void of a termination not yet recorded. */
function projectInvoice(
  i: InvoiceDetail,
  now: Date,
  termination: ProjectedTermination | null | undefined,
): InvoiceDetail {
  return projectTermination(projectBinder(i, i.enrollment, now), termination);
}

export type { EnrollmentListRow };

/** The list filter of `GET /v1/enrollments`: the store's, with R29's `delinquency`. */
export type EnrollmentListFilter = EnrollmentFilter & { delinquency?: DelinquencyStage | 'any' | undefined };

/** A lean list row with what a read shows of it as of the service clock. */
export interface ProjectedListRow {
  row: EnrollmentListRow;
  projection: ReadProjection;
}

/**
 * What the store narrows a list to. `delinquency` (R29) is answered from the same projection a read
 * shows: the store narrows to candidates (binder paid, with a recorded episode or a late live balance
 * as of today), and each is kept when its computed standing matches (`listed`); so a filtered list
 * never disagrees with a read, whether or not the sweep has run. A page may then hold fewer than
 * `limit` items while `nextCursor` still points further.
 */
function storeFilterOf(filter: EnrollmentListFilter, now: Date): EnrollmentFilter {
  const today = businessDateOf(now);
  const { delinquency, status, ...rest } = filter;
  return {
    ...rest,
    // R30: a termination the sweep has not recorded yet shows in reads, so `terminated` widens to candidates.
    ...(status === 'terminated' ? { terminatedOrCandidatesOn: today } : { status }),
    ...(delinquency ? { delinquencyCandidatesOn: today } : {}),
  };
}

/** Whether a projected enrollment answers the list's `status` and `delinquency` (see `storeFilterOf`). */
function listed(p: Pick<ReadProjection, 'status' | 'delinquency'>, filter: EnrollmentListFilter): boolean {
  const { status, delinquency } = filter;
  if (status && p.status !== status) return false;
  return !delinquency || (p.delinquency !== null && (delinquency === 'any' || p.delinquency.stage === delinquency));
}

function projectionInputOf(r: EnrollmentListRow): ProjectionInput {
  return {
    status: r.status,
    coverageStart: r.coverageStart,
    createdAt: new Date(r.createdAt),
    confirmationExpectedBy: r.confirmationExpectedBy,
    subsidy: r.subsidy,
    coverageEnd: r.coverageEnd,
    monthlyPremiumCents: r.monthlyPremiumCents,
    creditCents: r.creditCents,
    recordedDelinquency:
      r.delinquencyAnchor && r.delinquencyStage ? { anchor: r.delinquencyAnchor, stage: r.delinquencyStage } : null,
  };
}

const NO_INVOICES: readonly InvoiceFacts[] = Object.freeze([]);

function invoiceFactsOf(r: EnrollmentListRow): readonly InvoiceFacts[] {
  if (!r.invoices) return NO_INVOICES;
  return r.invoices.map(([coverageMonth, dueDate, amountDueCents, amountPaidCents, voided]) => ({
    coverageMonth,
    dueDate,
    amountDueCents,
    amountPaidCents,
    voided,
  }));
}

export class BillingService {
  private readonly runChunk: number;
  private readonly idempotent: IdempotentTransactions;
  private readonly log: WarnLog;

  constructor(
    private readonly stores: Stores,
    private readonly clock: Clock,
    private readonly calendar: BusinessCalendar,
    options: { billingRunChunk?: number; log?: WarnLog } = {},
  ) {
    this.runChunk = options.billingRunChunk ?? BILLING_RUN_CHUNK;
    this.idempotent = new IdempotentTransactions(stores, clock);
    this.log = options.log ?? { warn: () => {} };
  }

  // Accounts (R5)
  createAccount(account: Omit<Account, 'createdAt'>, call: Idempotent<Account>): Promise<Answered> {
    return this.idempotent.run(call, (tx) => tx.accounts.create(account));
  }

  async getAccount(memberId: string): Promise<Account> {
    const account = await this.stores.accounts.get(memberId);
    if (!account) throw notFound('account', memberId);
    return account;
  }

  accountsByPhone(phone: string): Promise<Account[]> {
    return this.stores.accounts.byPhoneNumber(phone);
  }

  // Enrollments (R6-R8, R10, R13, R14)
  /** R7, R8: the enrollment, its binder invoice and their events, with the answer, in one transaction. */
  checkout(input: CheckoutInput, principal: Principal, call: Idempotent<EnrollmentProjection>): Promise<Answered> {
    return this.idempotent.run(call, async (tx) => {
      const now = this.clock.now();
      const selectedAt = businessTimestamp('selectedAt', input.selectedAt, { now, calendar: this.calendar });
      const coverageStart = checkoutCoverageStart(input.coverageStart, selectedAt);
      const account = await tx.accounts.get(input.memberId);
      if (!account) throw new DomainError('account_not_found', `No account for member ${input.memberId}.`);
      if (!(await tx.carriers.get(input.carrierId))) {
        throw new DomainError('carrier_not_found', `Carrier ${input.carrierId} does not exist.`);
      }
      const enrollments = tx.enrollments;
      const enrollmentId = await enrollments.insert({ ...input, coverageStart, selectedAt, now });
      await enrollments.addHistory(enrollmentId, [created(now, principal.keyId)]);
      const binder = await tx.invoices.insertBinder({
        enrollmentId,
        memberId: input.memberId,
        ...binderInvoice({ monthlyPremiumCents: input.monthlyPremiumCents, coverageStart }, account.paperless),
        issuedAt: now,
      });
      const common = { occurredAt: now, carrierId: input.carrierId, memberId: input.memberId, enrollmentId };
      await tx.appendEvents([
        { ...common, type: 'enrollment.created', data: { coverageStart, coverageType: input.coverageType } },
        {
          ...common,
          type: 'invoice.issued',
          invoiceId: binder.id,
          data: { coverageMonth: coverageStart, binder: true },
        },
      ]);
      return this.enrollmentIn(tx, enrollmentId, UNSCOPED);
    });
  }

  getEnrollment(id: string, scope: Scope): Promise<EnrollmentProjection> {
    return this.enrollmentIn(this.stores, id, scope);
  }

  /** The enrollment as of the service clock, read in `stores` (a transaction sees its own writes). */
  async enrollmentIn(stores: Stores, id: string, scope: Scope): Promise<EnrollmentProjection> {
    const read = await stores.enrollments.getWithInvoices(id, scope);
    if (!read) throw notFound('enrollment', id);
    return projectEnrollment(read.enrollment, this.clock.now(), read.invoices);
  }

  /**
   * Enrollments as of the service clock, filtered as `storeFilterOf` and `listed` say (the
   * returned-payments list; the list route uses `enrollmentPage`).
   */
  async listEnrollments(
    filter: EnrollmentListFilter,
    scope: Scope,
    limit: number,
    after?: string,
  ): Promise<Page<EnrollmentProjection>> {
    const now = this.clock.now();
    const page = await this.stores.enrollments.listWithInvoices(storeFilterOf(filter, now), scope, limit, after);
    const data = page.data
      .map((r) => projectEnrollment(r.enrollment, now, r.invoices))
      .filter((p) => listed(p, filter));
    return { data, nextCursor: page.nextCursor };
  }

  /**
   * `listEnrollments` for the list route (issue 16: the carriers' work-queue page): the same
   * enrollments, filter and paging, as lean rows (`EnrollmentListRow`) each with its projection
   * (`readProjection`) instead of whole projected enrollments; the view writes them.
   */
  async enrollmentPage(
    filter: EnrollmentListFilter,
    scope: Scope,
    limit: number,
    after?: string,
  ): Promise<Page<ProjectedListRow>> {
    const now = this.clock.now();
    const page = await this.stores.enrollments.listPage(storeFilterOf(filter, now), scope, limit, after);
    const data: ProjectedListRow[] = [];
    for (const row of page.data) {
      const projection = readProjection(projectionInputOf(row), now, invoiceFactsOf(row));
      if (listed(projection, filter)) data.push({ row, projection });
    }
    return { data, nextCursor: page.nextCursor };
  }

  cancelEnrollment(
    id: string,
    reason: string | undefined,
    principal: Principal,
    call: Idempotent<EnrollmentProjection>,
  ): Promise<Answered> {
    return this.idempotent.run(call, async (tx) => {
      const now = this.clock.now();
      const enrollments = tx.enrollments;
      let e = await enrollments.get(id, scopeOf(principal), { forUpdate: true });
      if (!e) throw notFound('enrollment', id);
      e = await this.recordMissedDeadlines(tx, e, now);
      e = await this.standingFirst(tx, e, now, principal);
      const change = cancel(e, now, principal.keyId, reason);
      if (!change) return this.enrollmentIn(tx, id, UNSCOPED);
      const { paidCents } = await tx.invoices.voidForCancellation(id, now);
      await enrollments.update(
        id,
        // A delinquency recorded before ends with the enrollment (R13 voids what it owed).
        {
          status: change.status,
          cancelledAt: change.cancelledAt,
          creditDeltaCents: paidCents,
          recordedDelinquency: null,
        },
        now,
      );
      await enrollments.addHistory(id, [change.history]);
      await tx.appendEvents([
        {
          type: 'enrollment.cancelled',
          occurredAt: now,
          carrierId: e.carrierId,
          memberId: e.memberId,
          enrollmentId: id,
          data: { reason: reason ?? null, creditedCents: paidCents },
        },
      ]);
      return this.enrollmentIn(tx, id, UNSCOPED);
    });
  }

  /**
   * R31: reinstate an enrollment terminated for non-payment, in one transaction with its answer. A
   * termination the sweep has not recorded yet is recorded first (reads already show it); then
   * `reinstate` decides, and the enrollment, the balance up to `coverageEnd` paid from credit, and
   * the reissued invoices (paid from credit, `insertMonthly`) are written.
   */
  reinstateEnrollment(id: string, principal: Principal, call: Idempotent<EnrollmentProjection>): Promise<Answered> {
    return this.idempotent.run(call, async (tx) => {
      const now = this.clock.now();
      const lock = () => tx.enrollments.get(id, scopeOf(principal), { forUpdate: true, history: false });
      let e = await lock();
      if (e && (await recordStanding(tx, e, now, undefined, { actor: principal.keyId }))) e = await lock();
      if (!e) throw notFound('enrollment', id);
      const account = await tx.accounts.get(e.memberId);
      const r = reinstate(e, await tx.invoices.forEnrollment(id), now, {
        actor: principal.keyId,
        reason: 'reinstated',
        paperless: account?.paperless === true,
      });
      await writeReinstatement(tx, r, now);
      return this.enrollmentIn(tx, id, UNSCOPED);
    });
  }

  /**
   * R29/R30 before a write acts on the enrollment's status (cancellation, confirmation): the standing
   * as of the clock is recorded first, so the write sees what reads show (a termination the sweep has
   * not recorded yet refuses a cancellation or a confirmation exactly as it will after the sweep).
   * `e` is locked by the caller; the enrollment is read again when something was recorded.
   */
  async standingFirst(tx: Stores, e: Enrollment, now: Date, principal: Principal): Promise<Enrollment> {
    if (!(await recordStanding(tx, e, now, undefined, { actor: principal.keyId }))) return e;
    const again = await tx.enrollments.get(e.id, UNSCOPED, { forUpdate: true });
    if (!again) throw notFound('enrollment', e.id);
    return again;
  }

  /**
   * R10: record the moves a missed due date causes (coverage start, binder month and due date, the
   * run-issued invoices the binder passes voided and their money as credit, history, events). Runs
   * inside the caller's transaction with the enrollment locked; decided by `decideMissedDeadlines`.
   */
  async recordMissedDeadlines(tx: Stores, e: Enrollment, now: Date): Promise<Enrollment> {
    if (missedDeadlineMoves(e.status, e.coverageStart, now, e.createdAt).length === 0) return e;
    const invoices = await tx.invoices.forEnrollment(e.id);
    const decision = decideMissedDeadlines(e, invoices, now);
    if (!decision?.enrollment) return e;
    await tx.reconciliations.write(decision, now);
    return {
      ...e,
      coverageStart: decision.enrollment.coverageStart ?? e.coverageStart,
      creditCents: e.creditCents + decision.enrollment.creditDeltaCents,
      history: [...e.history, ...decision.history],
    };
  }

  /** `POST /v1/ops/deadline-sweeps`: the sweep, answered once per Idempotency-Key. */
  sweepOnce(call: Idempotent<SweepResult>): Promise<Answered> {
    return this.idempotent.runInSteps(call, async () => {
      const r = await this.sweepMissedDeadlines();
      return async () => r;
    });
  }

  /**
   * The background sweep (and `POST /v1/ops/deadline-sweeps`): records every pending move (R10), then
   * every non-payment standing that changed (R29/R30: stages, cures, terminations). Each pass goes in
   * sequence order, 200 locked enrollments per transaction, each behind its own savepoint: an
   * enrollment that fails is rolled back alone, logged by id and counted, and the sweep goes on (I5).
   * Rows another transaction holds are skipped: that sweep or payment records the same standing.
   */
  async sweepMissedDeadlines(): Promise<SweepResult> {
    const now = this.clock.now();
    const today = businessDateOf(now);
    // R1/R10: a start whose due date has passed is one before the earliest start still open.
    const earliestOpen = earliestCoverageStart(today);
    const moves = await this.sweepPass(
      'deadline sweep',
      (tx, afterSeq) => tx.enrollments.lockPendingStartingBefore(earliestOpen, SWEEP_BATCH, afterSeq),
      async (tx, e) => {
        await this.recordMissedDeadlines(tx, e, now);
        return true;
      },
    );
    const standings = await this.sweepStandings(now);
    return {
      enrollmentsMoved: moves.done,
      standingsRecorded: standings.done,
      enrollmentsFailed: moves.failed + standings.failed,
      asOf: now,
    };
  }

  /** One pass of the sweep over locked batches; each enrollment in its own savepoint (I5). */
  private async sweepPass(
    name: string,
    lockBatch: (tx: Stores, afterSeq: number) => Promise<{ enrollments: Enrollment[]; lastSeq: number }>,
    work: (tx: Stores, e: Enrollment) => Promise<boolean>,
  ): Promise<{ done: number; failed: number }> {
    const total = { done: 0, failed: 0 };
    let afterSeq = 0;
    for (;;) {
      const batch = await this.stores.transaction(async (tx) => {
        const due = await lockBatch(tx, afterSeq);
        const r = await this.eachInSavepoint(tx, name, due.enrollments, (e) => work(tx, e));
        total.done += r.done;
        total.failed += r.failed;
        return due;
      });
      afterSeq = batch.lastSeq;
      if (batch.enrollments.length < SWEEP_BATCH) break;
    }
    return total;
  }

  /** I5: each item behind its own savepoint; a failure is rolled back alone, logged by id and counted. */
  private async eachInSavepoint<T extends { id: string } | { e: { id: string } }>(
    tx: Stores,
    name: string,
    items: readonly T[],
    work: (item: T) => Promise<boolean>,
  ): Promise<{ done: number; failed: number }> {
    let done = 0;
    let failed = 0;
    for (const item of items) {
      await tx.savepoint('sweep_enrollment');
      try {
        if (await work(item)) done++;
        await tx.releaseSavepoint('sweep_enrollment');
      } catch (err) {
        if (!isEnrollmentFailure(err)) throw err;
        await tx.rollbackToSavepoint('sweep_enrollment');
        failed++;
        const enrollmentId = 'id' in item ? item.id : item.e.id;
        this.log.warn(
          { enrollmentId, code: (err as { code?: string }).code },
          `${name}: enrollment failed; the others go on`,
        );
      }
    }
    return { done, failed };
  }

  /**
   * R29/R30: the sweep's second pass. Per batch of locked candidates: one read of their invoices, the
   * decisions made in memory (`decideStanding`; most candidates need nothing written), then the
   * decisions that only record an episode written together in four statements behind one savepoint;
   * if that write fails, they and every termination are written one by one behind their own (I5).
   */
  private async sweepStandings(now: Date): Promise<{ done: number; failed: number }> {
    const today = businessDateOf(now);
    const total = { done: 0, failed: 0 };
    let afterSeq = 0;
    for (;;) {
      const batch = await this.stores.transaction(async (tx) => {
        const due = await tx.enrollments.lockDelinquencyCandidates(today, SWEEP_BATCH, afterSeq);
        const invoices = await tx.invoices.forEnrollments(due.enrollments.map((e) => e.id));
        const decided: { e: Enrollment; decision: StandingRecord }[] = [];
        for (const e of due.enrollments) {
          const decision = this.decideOrLog(e, invoices.get(e.id) ?? [], now, total);
          if (decision) decided.push({ e, decision });
        }
        let single = decided.filter((d) => !onlyRecords(d.decision));
        const batched = decided.filter((d) => onlyRecords(d.decision));
        if (batched.length === 0 || (await this.inOneSavepoint(tx, () => writeStandings(tx, batched, now)))) {
          total.done += batched.length;
        } else single = [...batched, ...single];
        const r = await this.eachInSavepoint(tx, 'non-payment sweep', single, async (d) => {
          await writeStanding(tx, d.e, d.decision, now);
          return true;
        });
        total.done += r.done;
        total.failed += r.failed;
        return due;
      });
      afterSeq = batch.lastSeq;
      if (batch.enrollments.length < SWEEP_BATCH) break;
    }
    return total;
  }

  /** A pure decision that throws (a bug in one enrollment's facts) is logged and counted, not fatal (I5). */
  private decideOrLog(
    e: Enrollment,
    invoices: readonly Invoice[],
    now: Date,
    total: { failed: number },
  ): StandingRecord | null {
    try {
      return decideStanding(e, invoices, now);
    } catch (err) {
      total.failed++;
      this.log.warn({ enrollmentId: e.id, error: (err as Error).message }, 'non-payment sweep: enrollment failed');
      return null;
    }
  }

  /** Runs `work` behind one savepoint; false (rolled back) when it fails for a reason one enrollment can cause. */
  private async inOneSavepoint(tx: Stores, work: () => Promise<void>): Promise<boolean> {
    await tx.savepoint('sweep_batch');
    try {
      await work();
      await tx.releaseSavepoint('sweep_batch');
      return true;
    } catch (err) {
      if (!isEnrollmentFailure(err)) throw err;
      await tx.rollbackToSavepoint('sweep_batch');
      return false;
    }
  }

  // Invoices (R15-R18)
  /**
   * Invoices as of the service clock: R10's binder moves, and R30's voids of a termination the sweep
   * has not recorded yet (read from the enrollment's facts, only for binder-paid enrollments).
   */
  private async projectInvoices(invoices: InvoiceDetail[], now: Date): Promise<InvoiceDetail[]> {
    const ids = [...new Set(invoices.filter((i) => canBeDelinquent(i.enrollment.status)).map((i) => i.enrollmentId))];
    const terminations = new Map<string, ProjectedTermination | null>();
    if (ids.length > 0) {
      const [enrollments, facts] = await Promise.all([
        this.stores.enrollments.many(ids),
        this.stores.invoices.forEnrollments(ids),
      ]);
      for (const e of enrollments) terminations.set(e.id, projectedTermination(e, facts.get(e.id) ?? [], now));
    }
    return invoices.map((i) => projectInvoice(i, now, terminations.get(i.enrollmentId)));
  }

  /**
   * R32: what the member's bill says: the invoice as `getInvoice` shows it (projected as of the
   * service clock), with its enrollment's plan and the account's mailing address.
   */
  async getBill(id: string, scope: Scope): Promise<BillContent> {
    const invoice = await this.getInvoice(id, scope);
    const [enrollment, account] = await Promise.all([
      this.stores.enrollments.get(invoice.enrollmentId, scope, { history: false }),
      this.stores.accounts.get(invoice.memberId),
    ]);
    if (!enrollment || !account) throw notFound('invoice', id);
    return billContent(invoice, enrollment, account.mailingAddress);
  }

  /** One statement: the invoice, and the facts of its enrollment when the projection needs them (R30). */
  async getInvoice(id: string, scope: Scope): Promise<InvoiceDetail> {
    const read = await this.stores.invoices.getWithFacts(id, scope, DELINQUENCY_CAPABLE);
    if (!read) throw notFound('invoice', id);
    const now = this.clock.now();
    const { invoice, facts } = read;
    return projectInvoice(
      invoice,
      now,
      facts ? projectedTermination(facts.enrollment, facts.invoices, now) : undefined,
    );
  }

  /**
   * Invoices as reads show them; `?status=` filters on the projected status (a void the sweep has not
   * recorded yet is listed as void, not open), so a page may hold fewer than `limit` items.
   */
  async listInvoices(filter: InvoiceFilter, scope: Scope, limit: number, after?: string): Promise<Page<InvoiceDetail>> {
    const now = this.clock.now();
    const storeFilter: InvoiceFilter =
      filter.status === 'void' ? { ...filter, status: undefined, voidOrCandidatesOn: businessDateOf(now) } : filter;
    const page = await this.stores.invoices.list(storeFilter, scope, limit, after);
    const data = (await this.projectInvoices(page.data, now)).filter(
      (i) => !filter.status || invoiceStatus(i) === filter.status,
    );
    return { data, nextCursor: page.nextCursor };
  }

  /** `POST /v1/billing-runs`: the run, recorded with its answer (a retry replays it, R16). */
  runBillingOnce(coverageMonth: IsoDate, principal: Principal, call: Idempotent<BillingRun>): Promise<Answered> {
    return this.idempotent.runInSteps(call, () => this.issueMonth(coverageMonth, principal));
  }

  /** R16: issue the month's invoices for every billable enrollment, exactly once. */
  async runBilling(coverageMonth: IsoDate, principal: Principal): Promise<BillingRun> {
    const record = await this.issueMonth(coverageMonth, principal);
    return this.stores.transaction(record);
  }

  /** Issues the month's invoices (chunk transactions); returns the write that records the run. */
  private async issueMonth(coverageMonth: IsoDate, principal: Principal): Promise<(tx: Stores) => Promise<BillingRun>> {
    const startedAt = this.clock.now();
    const dueDate = paymentDueDate(coverageMonth);
    // Chunks of enrollments, each its own short transaction: the events feed only moves past a
    // transaction once it ends (R27), so one transaction over the whole exchange would hold every
    // carrier's feed back for the length of the run. The unique key keeps each chunk exactly-once,
    // so a run that stops half way is completed by running it again.
    // R30: terminations the reads already show (a pay-by date passed, the sweep not run yet) are
    // recorded first, so the run bills nothing after their coverageEnd (I2); the same pass as the sweep's.
    await this.sweepStandings(startedAt);
    const last = await this.stores.invoices.lastEnrollmentSeq();
    const result = { issuedCount: 0, creditAppliedCents: 0 };
    // Two chunks at a time: a chunk is one statement on one backend, so a second connection puts the
    // database's other core to work. Chunks cover disjoint enrollments; each takes its range's lock.
    let nextAfterSeq = 0;
    let stopped = false;
    const failedIds: string[] = [];
    const worker = async () => {
      while (nextAfterSeq < last && !stopped) {
        const afterSeq = nextAfterSeq;
        nextAfterSeq += this.runChunk;
        const range = { afterSeq, toSeq: Math.min(afterSeq + this.runChunk, last) };
        const chunk = await this.runRange(coverageMonth, startedAt, range, failedIds).catch((err: unknown) => {
          stopped = true; // the other worker stops too; running the month again completes it
          throw err;
        });
        result.issuedCount += chunk.issuedCount;
        result.creditAppliedCents += chunk.creditAppliedCents;
      }
    };
    await Promise.all(Array.from({ length: BILLING_RUN_PARALLELISM }, worker));
    return async (tx: Stores) => {
      const finishedAt = this.clock.now();
      const id = await tx.recordBillingRun({
        coverageMonth,
        issuedCount: result.issuedCount,
        creditAppliedCents: result.creditAppliedCents,
        failedCount: failedIds.length,
        startedAt,
        finishedAt,
        actor: principal.keyId,
      });
      return { id, coverageMonth, dueDate, ...result, failedCount: failedIds.length, startedAt, finishedAt };
    };
  }

  /**
   * One range of enrollments in one transaction. If it fails for a reason one enrollment can cause
   * (I5), the range is split in halves and each half retried, down to single enrollments: the one that
   * fails is logged by id and left out, and every other enrollment of the range is billed. A clean
   * chunk costs nothing extra; a failing enrollment costs about two transactions per halving (~24).
   */
  private async runRange(
    coverageMonth: IsoDate,
    now: Date,
    range: SeqRange,
    failedIds: string[],
  ): Promise<BillingRunResult> {
    try {
      return await this.stores.transaction(async (tx) => {
        const invoices = tx.invoices;
        // Runs take turns range by range (the lock is named by the range's chunk index).
        await invoices.lockBillingRuns(Math.floor(range.afterSeq / this.runChunk));
        // R16/R17 decided in the domain on the locked, committed enrollments; written in one statement.
        const locked = await invoices.lockBillable(coverageMonth, BILLABLE_STATUSES, range);
        return invoices.insertMonthly(monthlyInvoices(locked, coverageMonth), now);
      });
    } catch (err) {
      // Many failures are not "one enrollment" any more (a broken schema, a systematic bug): stop.
      if (!isEnrollmentFailure(err) || failedIds.length >= BILLING_RUN_MAX_FAILURES) throw err;
      if (range.toSeq - range.afterSeq <= 1) {
        const id = await this.stores.invoices.enrollmentIdAtSeq(range.toSeq);
        failedIds.push(id ?? `seq:${range.toSeq}`);
        this.log.warn(
          { enrollmentId: id, coverageMonth, code: (err as { code?: string }).code },
          'billing run: enrollment failed; the others go on',
        );
        return { issuedCount: 0, creditAppliedCents: 0 };
      }
      const mid = range.afterSeq + Math.floor((range.toSeq - range.afterSeq) / 2);
      const a = await this.runRange(coverageMonth, now, { afterSeq: range.afterSeq, toSeq: mid }, failedIds);
      const b = await this.runRange(coverageMonth, now, { afterSeq: mid, toSeq: range.toSeq }, failedIds);
      return {
        issuedCount: a.issuedCount + b.issuedCount,
        creditAppliedCents: a.creditAppliedCents + b.creditAppliedCents,
      };
    }
  }

  get businessCalendar(): BusinessCalendar {
    return this.calendar;
  }
}
