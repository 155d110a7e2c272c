import type { Account } from '../domain/accounts.js';
import type { BusinessCalendar } from '../domain/calendar.js';
import type { Clock } from '../domain/clock.js';
import { DomainError, notFound } from '../domain/errors.js';
import { owesMoney } from '../domain/invoice.js';
import {
  checkDeposit,
  depositReceipt,
  type ItemPlan,
  inSequence,
  type LockboxDeposit,
  type LockboxItemResult,
  type LockboxReconciliation,
  planItem,
  reconcileDeposit,
  scanLineInvoiceNumbers,
} from '../domain/lockbox.js';
import { nameKey } from '../domain/names.js';
import type { PaymentTarget, RemittanceCandidate } from '../domain/payment.js';
import type { Principal } from '../domain/principal.js';
import type { PaymentContext, PaymentWriter } from '../store/paymentWrites.js';
import type { Stores } from '../store/stores.js';
import { type Answered, type Fingerprint, type Idempotent, IdempotentTransactions } from './idempotency.js';
import type { KnownFacts, PaymentService } from './payments.js';

/**
 * R34: a lockbox deposit is recorded in one transaction: the deposit id's lock and stored answer
 * (a retry replays it, another body is `idempotency_key_reused`), the deposit checked as a whole
 * (`checkDeposit`), every enrollment it may pay locked in id order, then each item, in sequence
 * order, is the same single mail payment `PaymentService.recordIn` records (R22-R24), and the
 * reconciliation is written last. Any failure rolls everything back.
 */
export class LockboxService {
  private readonly idempotent: IdempotentTransactions;

  constructor(
    private readonly stores: Stores,
    private readonly clock: Clock,
    private readonly calendar: BusinessCalendar,
    private readonly payments: PaymentService,
  ) {
    this.idempotent = new IdempotentTransactions(stores, clock);
  }

  /** POST /v1/ops/lockbox-deposits; `requestHash` fingerprints the body (the depositId's idempotency). */
  async record(
    deposit: LockboxDeposit,
    requestHash: Fingerprint,
    principal: Principal,
    call: Idempotent<LockboxReconciliation>,
  ): Promise<Answered> {
    let replayed = false;
    // A deposit still being recorded is not an answer to remember under an Idempotency-Key: the
    // 409 is thrown past the key's record, so a retry with that key records or replays the deposit.
    const inFlightIsNoAnswer: Idempotent<LockboxReconciliation> = {
      ...call,
      refusal: (err) =>
        err instanceof DomainError && err.code === 'idempotency_key_in_flight' ? null : call.refusal(err),
    };
    const answered = await this.idempotent.run(inFlightIsNoAnswer, async (tx) => {
      const r = await this.recordIn(tx, deposit, requestHash, principal);
      replayed = r.replayed;
      return r.reconciliation;
    });
    return replayed ? { ...answered, replayed: true } : answered;
  }

  async get(depositId: string): Promise<LockboxReconciliation> {
    const found = await this.stores.lockbox.get(depositId);
    if (!found) throw notFound('lockbox deposit', depositId);
    return found;
  }

  private async recordIn(
    tx: Stores,
    deposit: LockboxDeposit,
    requestHash: Fingerprint,
    principal: Principal,
  ): Promise<{ replayed: boolean; reconciliation: LockboxReconciliation }> {
    const begun = await tx.lockbox.begin(deposit.depositId);
    if (!begun.locked) {
      throw new DomainError(
        'idempotency_key_in_flight',
        `Deposit ${deposit.depositId} is being recorded; retry later.`,
      );
    }
    if (begun.found) {
      const stored = begun.found.requestHash;
      if (![requestHash.current, ...requestHash.accepted].some((h) => h.equals(stored))) {
        throw new DomainError(
          'idempotency_key_reused',
          `Deposit ${deposit.depositId} was recorded with different contents.`,
        );
      }
      return { replayed: true, reconciliation: begun.found.answer };
    }
    const now = this.clock.now();
    checkDeposit(deposit);
    const receivedAt = depositReceipt(deposit.depositDate, now, this.calendar);
    const items = inSequence(deposit.items);
    const invoices = await tx.lockbox.invoicesByNumber(scanLineInvoiceNumbers(items));
    const plans = items.map((item) => planItem(item, receivedAt, invoices));
    const writer = tx.paymentWrites.batch();
    const known = await DepositFacts.read(tx, [...invoices.keys()], remittanceMembers(plans), writer);
    const results: LockboxItemResult[] = [];
    try {
      for (const plan of plans) {
        results.push(await this.recordItem(tx, deposit.depositId, plan, { receivedAt, now, principal, known, writer }));
      }
      await writer.flush();
    } catch (err) {
      throw writer.causeOf(err);
    }
    const reconciliation = reconcileDeposit(deposit, results, now);
    await tx.lockbox.save(reconciliation, requestHash.current, principal.keyId, now);
    return { replayed: false, reconciliation };
  }

  /** One item: returned to the sender (nothing recorded), or the single mail payment it is. */
  private async recordItem(
    tx: Stores,
    depositId: string,
    plan: ItemPlan,
    at: { receivedAt: Date; now: Date; principal: Principal; known: KnownFacts; writer: PaymentWriter },
  ): Promise<LockboxItemResult> {
    const { item } = plan;
    const base = { sequence: item.sequence, method: item.method, amountCents: item.amountCents };
    if (plan.kind === 'return') {
      return {
        ...base,
        outcome: 'returned_to_sender',
        paymentId: null,
        matchedBy: null,
        enrollmentId: null,
        appliedCents: 0,
        creditedCents: 0,
        notes: plan.notes,
      };
    }
    let early = false;
    const payment = await this.payments.recordIn(tx, plan.request, plan.target, {
      ...at,
      earlyIsUnapplied: true,
      onEarly: () => {
        early = true;
      },
      reference: { lockbox: { depositId, sequence: item.sequence } },
    });
    const unapplied = payment.status === 'unapplied';
    const notes = [...plan.notes];
    if (early) notes.push('received_before_selection');
    else if (unapplied && plan.target?.kind === 'remittance') notes.push('remittance_not_matched');
    return {
      ...base,
      outcome: unapplied ? 'unapplied' : 'applied',
      paymentId: payment.id,
      matchedBy: unapplied ? null : plan.matchedBy,
      enrollmentId: payment.enrollmentId,
      appliedCents: payment.applications.reduce((sum, a) => sum + a.amountCents, 0),
      creditedCents: payment.creditedCents,
      notes,
    };
  }
}

function remittanceMembers(plans: readonly ItemPlan[]): string[] {
  const ids = plans.flatMap((p) => (p.kind === 'record' && p.target?.kind === 'remittance' ? [p.target.memberId] : []));
  return [...new Set(ids)];
}

/**
 * What a deposit reads once for all its items (`KnownFacts`): every enrollment it may pay, locked in
 * id order in one statement before any item is decided (concurrent deposits lock in the same order
 * and a single payment holds one enrollment, so they queue instead of deadlocking), with their
 * invoices; the remittances' accounts; the carriers' name keys. An enrollment a payment of the
 * deposit changed is read again from the database, after the kept writes are flushed.
 */
class DepositFacts implements KnownFacts {
  private readonly touched = new Set<string>();
  private readonly byInvoiceNumber = new Map<string, string>();
  private readonly byMember = new Map<string, PaymentContext[]>();

  private constructor(
    private readonly contexts: Map<string, PaymentContext>,
    private readonly accounts: Map<string, Account>,
    private readonly carrierKeys: Map<string, string>,
    private readonly writer: PaymentWriter,
  ) {
    for (const [id, c] of contexts) {
      for (const i of c.invoices) this.byInvoiceNumber.set(i.invoiceNumber, id);
      if (!c.enrollment) continue;
      const list = this.byMember.get(c.enrollment.memberId) ?? [];
      list.push(c);
      this.byMember.set(c.enrollment.memberId, list);
    }
  }

  static async read(
    tx: Stores,
    invoiceNumbers: readonly string[],
    memberIds: readonly string[],
    writer: PaymentWriter,
  ): Promise<DepositFacts> {
    const ids = await tx.lockbox.enrollmentIdsFor(invoiceNumbers, memberIds);
    const contexts = await tx.paymentWrites.contexts(ids);
    const carrierIds = [
      ...new Set([...contexts.values()].flatMap((c) => (c.enrollment ? [c.enrollment.carrierId] : []))),
    ];
    const accounts = await tx.lockbox.accounts(memberIds);
    const carrierKeys = await tx.lockbox.carrierNameKeys(carrierIds);
    return new DepositFacts(contexts, accounts, carrierKeys, writer);
  }

  /** Null, after flushing what is kept, when a payment of the deposit changed the enrollment. */
  private async fresh(enrollmentId: string): Promise<PaymentContext | null> {
    if (this.touched.has(enrollmentId)) {
      await this.writer.flush();
      return null;
    }
    return this.contexts.get(enrollmentId) ?? null;
  }

  context(enrollmentId: string): Promise<PaymentContext | null> {
    return this.fresh(enrollmentId);
  }

  async invoiceContext(invoiceNumber: string): Promise<PaymentContext | null> {
    const enrollmentId = this.byInvoiceNumber.get(invoiceNumber);
    const context = enrollmentId ? await this.fresh(enrollmentId) : null;
    const invoice = context?.invoices.find((i) => i.invoiceNumber === invoiceNumber);
    if (!context || !invoice) return null;
    return {
      ...context,
      invoice: {
        id: invoice.id,
        enrollmentId: invoice.enrollmentId,
        memberId: invoice.memberId,
        voided: invoice.voidedAt !== null,
      },
    };
  }

  async remittance(
    target: Extract<PaymentTarget, { kind: 'remittance' }>,
  ): Promise<{ account: Account | null; candidates: RemittanceCandidate[] } | null> {
    const account = this.accounts.get(target.memberId) ?? null;
    if (!account) return { account: null, candidates: [] };
    const key = nameKey(target.carrierName);
    const mine = (this.byMember.get(account.memberId) ?? []).filter(
      (c) => c.enrollment && this.carrierKeys.get(c.enrollment.carrierId) === key,
    );
    if (mine.some((c) => c.enrollment && this.touched.has(c.enrollment.id))) {
      await this.writer.flush();
      return null;
    }
    const candidates = mine.flatMap((c) =>
      c.enrollment
        ? [{ id: c.enrollment.id, owes: owesMoney(c.invoices), cancelled: c.enrollment.status === 'cancelled' }]
        : [],
    );
    return { account, candidates };
  }

  touch(enrollmentId: string): void {
    this.touched.add(enrollmentId);
  }
}
