import { normalizePhoneNumber } from '../domain/accounts.js';
import type { BusinessCalendar } from '../domain/calendar.js';
import { assertMethodAccepted } from '../domain/channels.js';
import type { Clock } from '../domain/clock.js';
import type { Enrollment } from '../domain/enrollment.js';
import { DomainError, notFound } from '../domain/errors.js';
import { nameKey } from '../domain/names.js';
import {
  assertReturnReason,
  checkMethodDetails,
  last4,
  type Payment,
  type PaymentRequest,
  type PaymentStatus,
  type PaymentTarget,
  paymentTarget,
  pickRemittanceEnrollment,
} from '../domain/payment.js';
import { type Principal, UNSCOPED } from '../domain/principal.js';
import { decideReturn, type Reconciliation } from '../domain/reconcile.js';
import { type Settlement, settle } from '../domain/settlement.js';
import { businessTimestamp } from '../domain/timestamps.js';
import type { NewEvent } from '../store/events.js';
import type { IdempotencyRecord } from '../store/idempotency.js';
import type { Page } from '../store/pagination.js';
import { newPaymentId, type PaymentContext } from '../store/paymentWrites.js';
import type { Stores } from '../store/stores.js';
import type { BillingService } from './billing.js';
import { type Answered, type Idempotent, IdempotentTransactions } from './idempotency.js';

type Resolved = { context: LockedContext; invoiceId?: string } | { unapplied: true; memberId: string | null };
type LockedContext = PaymentContext & { enrollment: Enrollment };

/**
 * Payments (R19-R25). Every money-moving use case opens one transaction that holds its
 * Idempotency-Key and its recorded answer, locks the enrollment it changes, and writes its events
 * there too.
 *
 * Posting a payment reads, decides, then writes once: resolve the target and lock the enrollment
 * with its invoices (one call), decide in the domain (`settle`), and write the payment, its
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
    const writes = tx.paymentWrites;
    const resolved = await this.resolve(tx, req, target);

    const id = newPaymentId();
    const payment: Payment = {
      id,
      status: 'received',
      channel: req.channel,
      method: req.method,
      amountCents: req.amountCents,
      receivedAt,
      memberId: null,
      enrollmentId: null,
      guest: req.guest ?? false,
      target: { ...target },
      applications: [],
      creditedCents: 0,
      unappliedCents: 0,
      bankAccount: req.bankAccount
        ? { routingNumber: req.bankAccount.routingNumber, last4: last4(req.bankAccount.accountNumber) }
        : null,
      card: req.card
        ? { brand: req.card.brand, last4: req.card.last4, expMonth: req.card.expMonth, expYear: req.card.expYear }
        : null,
      check: req.check ? { checkNumber: req.check.checkNumber, payableTo: req.check.payableTo } : null,
      moneyOrder: req.moneyOrder
        ? { serialNumber: req.moneyOrder.serialNumber, payableTo: req.moneyOrder.payableTo }
        : null,
      returnedAt: null,
      returnReasonCode: null,
      createdAt: now,
    };
    const write = { mode: 'insert' as const, request: req, actor: principal.keyId };
    if ('unapplied' in resolved) {
      const unapplied: Payment = {
        ...payment,
        status: 'unapplied',
        memberId: resolved.memberId,
        unappliedCents: req.amountCents,
      };
      const event: NewEvent = {
        type: 'payment.unapplied',
        occurredAt: now,
        memberId: resolved.memberId,
        paymentId: id,
        data: { amountCents: req.amountCents, channel: req.channel },
      };
      await writes.write({ ...write, payment: unapplied }, null, [event], null, now, recordFor(unapplied));
      return unapplied;
    }
    const { enrollment: e, invoices } = resolved.context;
    this.assertReceivedAfterSelection(payment, e);
    const settlement = settle({
      enrollment: e,
      invoices,
      amountCents: req.amountCents,
      paymentId: id,
      receivedAt,
      now,
      actor: principal.keyId,
      calendar: this.calendar,
      onlyInvoiceId: resolved.invoiceId,
    });
    const applied = this.applied(payment, e, settlement, now);
    await writes.write({ ...write, payment: applied }, settlement, settlement.events, e.id, now, recordFor(applied));
    return applied;
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

  private applied(payment: Payment, e: Enrollment, settlement: Settlement, now: Date): Payment {
    return {
      ...payment,
      status: 'received',
      memberId: e.memberId,
      enrollmentId: e.id,
      unappliedCents: 0,
      creditedCents: settlement.creditedCents,
      applications: [
        ...payment.applications,
        ...settlement.applications.map((a) => ({ ...a, appliedAt: now, reversedAt: null })),
      ],
    };
  }

  /**
   * R21-R23: find what a payment pays and lock it. Mail that cannot be matched is kept as
   * unapplied. Reads only: nothing is written here.
   */
  private async resolve(tx: Stores, req: Pick<PaymentRequest, 'channel'>, target: PaymentTarget): Promise<Resolved> {
    const mail = req.channel === 'mail';
    const notFoundOr = (memberId: string | null, detail: string): Resolved => {
      if (mail) return { unapplied: true, memberId };
      throw new DomainError('target_not_found', detail);
    };
    const locked = async (enrollmentId: string): Promise<LockedContext> => {
      const ctx = await tx.paymentWrites.context({ enrollmentId });
      if (!ctx.enrollment) throw notFound('enrollment', enrollmentId);
      return { ...ctx, enrollment: ctx.enrollment };
    };
    const enrollments = tx.enrollments;
    switch (target.kind) {
      case 'invoice': {
        const ctx = await tx.paymentWrites.context({ invoiceNumber: target.invoiceNumber });
        // R24: a void invoice still names its enrollment: the money is recorded there (as credit).
        if (!ctx.invoice || !ctx.enrollment)
          return notFoundOr(ctx.invoice?.memberId ?? null, `No invoice ${target.invoiceNumber}.`);
        return { context: { ...ctx, enrollment: ctx.enrollment }, invoiceId: ctx.invoice.id };
      }
      case 'enrollment': {
        const ctx = await tx.paymentWrites.context({ enrollmentId: target.enrollmentId });
        // R24: a cancelled enrollment's money is recorded as its credit (for ops to refund).
        if (!ctx.enrollment) return notFoundOr(null, `No enrollment ${target.enrollmentId}.`);
        return { context: { ...ctx, enrollment: ctx.enrollment } };
      }
      case 'phone':
      case 'member': {
        let memberId: string;
        if (target.kind === 'phone') {
          const accounts = await tx.accounts.byPhoneNumber(normalizePhoneNumber(target.phoneNumber));
          if (accounts.length === 0) throw new DomainError('target_not_found', 'No account has this phone number.');
          if (accounts.length > 1) {
            throw new DomainError('target_ambiguous', 'Several accounts have this phone number; give the Member ID.');
          }
          memberId = (accounts[0] as { memberId: string }).memberId;
        } else {
          if (!(await tx.accounts.get(target.memberId))) {
            throw new DomainError('target_not_found', `No account for member ${target.memberId}.`);
          }
          memberId = target.memberId;
        }
        const owing = await enrollments.withBalance(memberId);
        if (owing.length === 0)
          throw new DomainError('target_not_found', 'The account has no enrollment with a balance.');
        if (owing.length > 1) {
          throw new DomainError(
            'target_ambiguous',
            'The account has several enrollments with a balance; name the invoice number or enrollment.',
            { enrollmentIds: owing },
          );
        }
        return { context: await locked(owing[0] as string) };
      }
      case 'remittance': {
        const account = await tx.accounts.get(target.memberId);
        const namesMatch =
          account &&
          nameKey(account.firstName) === nameKey(target.firstName) &&
          nameKey(account.lastName) === nameKey(target.lastName);
        if (!account || !namesMatch) return { unapplied: true, memberId: account ? account.memberId : null };
        const candidates = await enrollments.byCarrierName(account.memberId, nameKey(target.carrierName));
        const pick = pickRemittanceEnrollment(candidates);
        if (!pick) return { unapplied: true, memberId: account.memberId };
        return { context: await locked(pick) };
      }
    }
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
    if (payment.status !== 'unapplied') {
      throw new DomainError('not_unapplied', `Payment ${paymentId} is ${payment.status}.`, {
        currentState: payment.status,
        expectedStates: ['unapplied'],
      });
    }
    if (Boolean(target.invoiceNumber) === Boolean(target.enrollmentId)) {
      throw new DomainError('target_required', 'Name exactly one of invoiceNumber or enrollmentId.');
    }
    const writes = tx.paymentWrites;
    const resolved = await this.resolve(
      tx,
      { channel: 'online' },
      target.invoiceNumber
        ? { kind: 'invoice', invoiceNumber: target.invoiceNumber }
        : { kind: 'enrollment', enrollmentId: target.enrollmentId as string },
    );
    if ('unapplied' in resolved) throw new DomainError('target_not_found', 'No payable target.');
    const { enrollment: e, invoices } = resolved.context;
    this.assertReceivedAfterSelection(payment, e);
    const settlement = settle({
      enrollment: e,
      invoices,
      amountCents: payment.amountCents,
      paymentId,
      receivedAt: payment.receivedAt,
      now,
      actor: principal.keyId,
      calendar: this.calendar,
      onlyInvoiceId: resolved.invoiceId,
    });
    const applied = this.applied(payment, e, settlement, now);
    await writes.write({ mode: 'update', payment: applied }, settlement, settlement.events, e.id, now, null);
    return applied;
  }

  /** R25: a returned payment reverses its applications and credit. */
  private async returnPayment(
    tx: Stores,
    paymentId: string,
    reasonCode: string,
    returnedAtInput: Date | undefined,
    principal: Principal,
  ): Promise<Payment> {
    const now = this.clock.now();
    const payments = tx.payments;
    const payment = await payments.get(paymentId, { forUpdate: true });
    if (!payment) throw notFound('payment', paymentId);
    if (payment.status === 'returned') {
      throw new DomainError(
        'already_returned',
        `Payment ${paymentId} was returned on ${payment.returnedAt?.toISOString()}.`,
        {
          currentState: 'returned',
        },
      );
    }
    assertReturnReason(payment.method, reasonCode);
    // Money cannot come back before it arrived; the bank's return date may be any time after that.
    const returnedAt = businessTimestamp('returnedAt', returnedAtInput, {
      now,
      calendar: this.calendar,
      notBefore: payment.receivedAt,
    });

    const invoices = tx.invoices;
    const enrollments = tx.enrollments;
    const active = payment.applications.filter((a) => a.reversedAt === null);
    // Lock every enrollment touched, in id order (the order every multi-enrollment writer uses),
    // then read its invoices after the lock, decide in the domain and write the decision.
    const invoiceRows = await invoices.enrollmentsOf(active.map((a) => a.invoiceId));
    const touched = [...new Set([...invoiceRows, ...(payment.enrollmentId ? [payment.enrollmentId] : [])])].sort();
    const decisions: Reconciliation[] = [];
    for (const id of touched) {
      const e = await enrollments.get(id, UNSCOPED, { forUpdate: true, history: false });
      if (!e) continue;
      const own = await invoices.forEnrollment(id);
      const ids = new Set(own.map((i) => i.id));
      decisions.push(
        decideReturn({
          enrollment: e,
          invoices: own,
          applications: active.filter((a) => ids.has(a.invoiceId)),
          creditedCents: payment.enrollmentId === id ? payment.creditedCents : 0,
          paymentId,
          amountCents: payment.amountCents,
          reasonCode,
          now,
          actor: principal.keyId,
          calendar: this.calendar,
        }),
      );
    }
    await payments.markReturned(paymentId, returnedAt, reasonCode);
    const store = tx.reconciliations;
    for (const d of decisions) await store.write(d, now);
    if (decisions.length === 0) {
      await tx.appendEvents([
        {
          type: 'payment.returned',
          occurredAt: now,
          memberId: payment.memberId,
          paymentId,
          data: { reasonCode, amountCents: payment.amountCents },
        },
      ]);
    }
    return (await payments.get(paymentId)) as Payment;
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
