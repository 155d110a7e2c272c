import { normalizePhoneNumber } from '../domain/accounts.js';
import type { BusinessCalendar } from '../domain/calendar.js';
import { assertMethodAccepted } from '../domain/channels.js';
import type { Clock } from '../domain/clock.js';
import type { Enrollment } from '../domain/enrollment.js';
import { DomainError, notFound } from '../domain/errors.js';
import type { Invoice } from '../domain/invoice.js';
import { type MatchFacts, matchPayment } from '../domain/matching.js';
import { nameKey } from '../domain/names.js';
import {
  apply,
  assertApplicable,
  checkMethodDetails,
  markReturned,
  markUnapplied,
  newPayment,
  type Payment,
  type PaymentRequest,
  type PaymentStatus,
  type PaymentTarget,
  paymentTarget,
} from '../domain/payment.js';
import { type Principal, UNSCOPED } from '../domain/principal.js';
import { decideReversal, liveApplications, reversalEnrollmentIds } from '../domain/reversal.js';
import { type Settlement, settle } from '../domain/settlement.js';
import { businessTimestamp } from '../domain/timestamps.js';
import type { IdempotencyRecord } from '../store/idempotency.js';
import type { Page } from '../store/pagination.js';
import { newPaymentId, type PaymentContext } from '../store/paymentWrites.js';
import type { Stores } from '../store/stores.js';
import type { BillingService } from './billing.js';
import { type Answered, type Idempotent, IdempotentTransactions } from './idempotency.js';
import { recordStanding, recordStandingAfter } from './nonPayment.js';

type Matched =
  | { kind: 'pay'; context: LockedContext; onlyInvoiceId?: string | undefined }
  | { kind: 'unapplied'; memberId: string | null };
type LockedContext = PaymentContext & { enrollment: Enrollment };

/**
 * Payments (R19-R25). Every money-moving use case opens one transaction that holds its
 * Idempotency-Key and its recorded answer, locks the enrollment it changes, and writes its events
 * there too.
 *
 * Posting a payment reads, decides, then writes once: read what the target names, decide what it
 * pays (`matchPayment`), lock the enrollment with its invoices (one call, the same one as the read
 * for an invoice or enrollment target), decide the money (`settle`, `apply`), and write the payment, its
 * applications, invoice and enrollment changes, history, events and the idempotency record in one
 * statement. Nothing is written before that statement, so a refusal needs no savepoint.
 */
export class PaymentService {
  private readonly idempotent: IdempotentTransactions;

  constructor(
    private readonly stores: Stores,
    private readonly clock: Clock,
    private readonly calendar: BusinessCalendar,
    private readonly billing: BillingService,
  ) {
    this.idempotent = new IdempotentTransactions(stores, clock);
  }

  /** POST /v1/payments: the payment, its effects and its recorded answer are one write. */
  post(req: PaymentRequest, principal: Principal, call: Idempotent<Payment>): Promise<Answered> {
    return this.idempotent.run(call, (tx, scope) => this.postIn(tx, req, principal, scope.recordFor), {
      writesOnlyAtEnd: true,
    });
  }

  /** R23: ops applies a mail payment that could not be matched. */
  applyUnappliedPayment(
    paymentId: string,
    target: { invoiceNumber?: string | undefined; enrollmentId?: string | undefined },
    principal: Principal,
    call: Idempotent<Payment>,
  ): Promise<Answered> {
    return this.idempotent.run(call, (tx) => this.applyUnapplied(tx, paymentId, target, principal));
  }

  /** R25: a returned payment (ACH return or bounced check). */
  recordReturn(
    paymentId: string,
    reasonCode: string,
    returnedAt: Date | undefined,
    principal: Principal,
    call: Idempotent<Payment>,
  ): Promise<Answered> {
    return this.idempotent.run(call, (tx) => this.returnPayment(tx, paymentId, reasonCode, returnedAt, principal));
  }

  /** `recordFor` gives the idempotency record to write with the payment. */
  private async postIn(
    tx: Stores,
    req: PaymentRequest,
    principal: Principal,
    recordFor: (payment: Payment) => IdempotencyRecord | null,
  ): Promise<Payment> {
    const now = this.clock.now();
    assertMethodAccepted(req.channel, req.method);
    checkMethodDetails(req, now);
    const receivedAt = businessTimestamp('receivedAt', req.receivedAt, {
      now,
      calendar: this.calendar,
      channel: req.channel,
    });
    const target = paymentTarget(req);
    const matched = await this.match(tx, target, req.channel === 'mail');
    const payment = newPayment(req, target, { id: newPaymentId(), receivedAt, now });
    const write = { mode: 'insert' as const, request: req, actor: principal.keyId };
    if (matched.kind === 'unapplied') {
      const kept = markUnapplied(payment, matched.memberId, now);
      await tx.paymentWrites.write(
        { ...write, payment: kept.payment },
        null,
        kept.events,
        null,
        now,
        recordFor(kept.payment),
      );
      return kept.payment;
    }
    this.assertReceivedAfterSelection(payment, matched.context.enrollment);
    const standing = await this.standingFirst(tx, matched, now);
    const { applied, settlement } = this.settleOn(payment, standing, principal, now);
    const e = standing.context.enrollment;
    await tx.paymentWrites.write(
      { ...write, payment: applied },
      settlement,
      settlement.events,
      e.id,
      now,
      recordFor(applied),
    );
    if (e.recordedDelinquency) await recordStandingAfter(tx, e.id, now);
    return applied;
  }

  /**
   * R29/R30 before the money moves: the standing as the facts show it now is recorded first (the
   * anchor U, a stage, or a termination whose date has passed: then R24 makes this money credit),
   * and the payment is decided on the enrollment as it stands after that.
   */
  private async standingFirst(
    tx: Stores,
    matched: Extract<Matched, { kind: 'pay' }>,
    now: Date,
  ): Promise<Extract<Matched, { kind: 'pay' }>> {
    const { enrollment, invoices } = matched.context;
    if (!(await recordStanding(tx, enrollment, now, invoices))) return matched;
    return { ...matched, context: await this.lock(tx, enrollment.id) };
  }

  /** R24 (R9-R11): decide what the payment does to its locked enrollment, and the applied payment. */
  private settleOn(
    payment: Payment,
    matched: Extract<Matched, { kind: 'pay' }>,
    principal: Principal,
    now: Date,
  ): { applied: Payment; settlement: Settlement } {
    const { enrollment: e, invoices } = matched.context;
    this.assertReceivedAfterSelection(payment, e);
    const settlement = settle({
      enrollment: e,
      invoices,
      amountCents: payment.amountCents,
      paymentId: payment.id,
      receivedAt: payment.receivedAt,
      now,
      actor: principal.keyId,
      calendar: this.calendar,
      onlyInvoiceId: matched.onlyInvoiceId,
    });
    return { applied: apply(payment, e, settlement, now), settlement };
  }

  /**
   * A payment's receivedAt is never before its enrollment's selectedAt. Judged as of when the payment
   * was recorded (its channel's window was checked then), so ops applying an old unapplied check
   * later meets only this bound.
   */
  private assertReceivedAfterSelection(payment: Payment, e: Enrollment): void {
    businessTimestamp('receivedAt', payment.receivedAt, {
      now: payment.createdAt,
      calendar: this.calendar,
      channel: payment.channel,
      notBefore: e.selectedAt,
    });
  }

  /**
   * R21-R23: read what the target names, let the domain decide (`matchPayment`), and lock the
   * enrollment it pays with its invoices. Reads only: nothing is written here.
   */
  private async match(tx: Stores, target: PaymentTarget, mail: boolean): Promise<Matched> {
    const { facts, context } = await this.matchFacts(tx, target);
    const decision = matchPayment(facts, { mail });
    switch (decision.kind) {
      case 'refuse':
        throw new DomainError(decision.code, decision.detail, decision.extra);
      case 'unapplied':
        return decision;
      case 'pay': {
        const locked =
          context?.enrollment?.id === decision.enrollmentId
            ? { ...context, enrollment: context.enrollment }
            : await this.lock(tx, decision.enrollmentId);
        return { kind: 'pay', context: locked, onlyInvoiceId: decision.onlyInvoiceId };
      }
    }
  }

  /** The facts `matchPayment` needs; an invoice or enrollment target is read locked in the same call. */
  private async matchFacts(
    tx: Stores,
    target: PaymentTarget,
  ): Promise<{ facts: MatchFacts; context?: PaymentContext }> {
    switch (target.kind) {
      case 'invoice': {
        const context = await tx.paymentWrites.context({ invoiceNumber: target.invoiceNumber });
        const invoice = context.invoice ? { id: context.invoice.id, memberId: context.invoice.memberId } : null;
        const enrollmentId = context.enrollment?.id ?? null;
        return { facts: { kind: 'invoice', invoiceNumber: target.invoiceNumber, invoice, enrollmentId }, context };
      }
      case 'enrollment': {
        const context = await tx.paymentWrites.context({ enrollmentId: target.enrollmentId });
        return {
          facts: { kind: 'enrollment', enrollmentId: target.enrollmentId, found: !!context.enrollment },
          context,
        };
      }
      case 'phone': {
        const accounts = (await tx.accounts.byPhoneNumber(normalizePhoneNumber(target.phoneNumber))).map(
          (a) => a.memberId,
        );
        const owing = accounts.length === 1 ? await tx.enrollments.withBalance(accounts[0] as string) : [];
        return { facts: { kind: 'phone', accounts, owing } };
      }
      case 'member': {
        const accountFound = !!(await tx.accounts.get(target.memberId));
        const owing = accountFound ? await tx.enrollments.withBalance(target.memberId) : [];
        return { facts: { kind: 'member', memberId: target.memberId, accountFound, owing } };
      }
      case 'remittance': {
        const account = await tx.accounts.get(target.memberId);
        const candidates = account
          ? await tx.enrollments.byCarrierName(account.memberId, nameKey(target.carrierName))
          : [];
        return { facts: { kind: 'remittance', remittance: target, account, candidates } };
      }
    }
  }

  private async lock(tx: Stores, enrollmentId: string): Promise<LockedContext> {
    const ctx = await tx.paymentWrites.context({ enrollmentId });
    if (!ctx.enrollment) throw notFound('enrollment', enrollmentId);
    return { ...ctx, enrollment: ctx.enrollment };
  }

  private async applyUnapplied(
    tx: Stores,
    paymentId: string,
    target: { invoiceNumber?: string | undefined; enrollmentId?: string | undefined },
    principal: Principal,
  ): Promise<Payment> {
    const now = this.clock.now();
    const payment = await tx.payments.get(paymentId, { forUpdate: true });
    if (!payment) throw notFound('payment', paymentId);
    assertApplicable(payment);
    if (Boolean(target.invoiceNumber) === Boolean(target.enrollmentId)) {
      throw new DomainError('target_required', 'Name exactly one of invoiceNumber or enrollmentId.');
    }
    const matched = await this.match(
      tx,
      target.invoiceNumber
        ? { kind: 'invoice', invoiceNumber: target.invoiceNumber }
        : { kind: 'enrollment', enrollmentId: target.enrollmentId as string },
      false,
    );
    if (matched.kind === 'unapplied') throw new DomainError('target_not_found', 'No payable target.');
    this.assertReceivedAfterSelection(payment, matched.context.enrollment);
    const standing = await this.standingFirst(tx, matched, now);
    const { applied, settlement } = this.settleOn(payment, standing, principal, now);
    const e = standing.context.enrollment;
    await tx.paymentWrites.write({ mode: 'update', payment: applied }, settlement, settlement.events, e.id, now, null);
    if (e.recordedDelinquency) await recordStandingAfter(tx, e.id, now);
    return applied;
  }

  /**
   * R25: a returned payment reverses its applications and credit. Checked first (`markReturned`),
   * then every enrollment touched is locked in id order and read after the lock, the whole reversal
   * is decided (`decideReversal`) and written in one store call. Also R36's path: each return of
   * an ACH return file runs this in its own transaction (src/services/ach.ts).
   */
  async returnPayment(
    tx: Stores,
    paymentId: string,
    reasonCode: string,
    returnedAt: Date | undefined,
    principal: Principal,
  ): Promise<Payment> {
    const now = this.clock.now();
    const payment = await tx.payments.get(paymentId, { forUpdate: true });
    if (!payment) throw notFound('payment', paymentId);
    const returned = markReturned(payment, { reasonCode, returnedAt, now, calendar: this.calendar });
    const invoiceEnrollments = await tx.invoices.enrollmentsOf(liveApplications(payment).map((a) => a.invoiceId));
    const enrollments: { enrollment: Enrollment; invoices: Invoice[] }[] = [];
    for (const id of reversalEnrollmentIds(payment, invoiceEnrollments)) {
      let enrollment = await tx.enrollments.get(id, UNSCOPED, { forUpdate: true, history: false });
      if (!enrollment) continue;
      // R29/R30 first (as for a payment): the standing before the money goes back is recorded.
      if (await recordStanding(tx, enrollment, now)) {
        enrollment = await tx.enrollments.get(id, UNSCOPED, { forUpdate: true, history: false });
      }
      if (enrollment) enrollments.push({ enrollment, invoices: await tx.invoices.forEnrollment(id) });
    }
    const reversal = decideReversal({
      payment,
      returned,
      enrollments,
      now,
      actor: principal.keyId,
      calendar: this.calendar,
    });
    await tx.reconciliations.writeReversal(reversal, now);
    // R25: a confirmed enrollment's months left unpaid follow R29-R30 from now on.
    for (const { enrollment } of enrollments) await recordStandingAfter(tx, enrollment.id, now);
    return reversal.payment;
  }

  async get(id: string): Promise<Payment> {
    const p = await this.stores.payments.get(id);
    if (!p) throw notFound('payment', id);
    return p;
  }

  list(
    filter: { memberId?: string | undefined; status?: PaymentStatus | undefined },
    limit: number,
    after?: string,
  ): Promise<Page<Payment>> {
    return this.stores.payments.list(filter, limit, after);
  }

  /** Flagged enrollments for ops (R25). */
  async flagged(limit: number, after?: string) {
    return this.billing.listEnrollments({ flag: 'payment_returned' }, UNSCOPED, limit, after);
  }
}
