import type { BusinessCalendar } from '../domain/calendar.js';
import type { Clock } from '../domain/clock.js';
import { DomainError, notFound } from '../domain/errors.js';
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
import type { Principal } from '../domain/principal.js';
import type { Stores } from '../store/stores.js';
import { type Answered, type Fingerprint, type Idempotent, IdempotentTransactions } from './idempotency.js';
import type { PaymentService } from './payments.js';

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
    await tx.lockbox.lockEnrollments(
      [...invoices.keys()],
      [
        ...new Set(
          plans.flatMap((p) => (p.kind === 'record' && p.target?.kind === 'remittance' ? [p.target.memberId] : [])),
        ),
      ],
    );
    const results: LockboxItemResult[] = [];
    for (const plan of plans)
      results.push(await this.recordItem(tx, deposit.depositId, plan, { receivedAt, now, principal }));
    const reconciliation = reconcileDeposit(deposit, results, now);
    await tx.lockbox.save(reconciliation, requestHash.current, principal.keyId, now);
    return { replayed: false, reconciliation };
  }

  /** One item: returned to the sender (nothing recorded), or the single mail payment it is. */
  private async recordItem(
    tx: Stores,
    depositId: string,
    plan: ItemPlan,
    at: { receivedAt: Date; now: Date; principal: Principal },
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
