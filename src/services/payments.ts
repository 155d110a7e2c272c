import { type Account, normalizePhoneNumber } from '../domain/accounts.js';
import type { BusinessCalendar } from '../domain/calendar.js';
import { assertMethodAccepted } from '../domain/channels.js';
import type { Clock } from '../domain/clock.js';
import type { Enrollment } from '../domain/enrollment.js';
import { DomainError, notFound } from '../domain/errors.js';
import type { Invoice } from '../domain/invoice.js';
import { type MatchFacts, matchPayment } from '../domain/matching.js';
import { nameKey } from '../domain/names.js';
import { parseScanLine } from '../domain/numbers.js';
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
  type RemittanceCandidate,
} from '../domain/payment.js';
import { type Principal, UNSCOPED } from '../domain/principal.js';
import { decideReversal, liveApplications, reversalEnrollmentIds } from '../domain/reversal.js';
import { type Settlement, settle } from '../domain/settlement.js';
import { businessTimestamp } from '../domain/timestamps.js';
import type { IdempotencyRecord } from '../store/idempotency.js';
import type { Page } from '../store/pagination.js';
import { newPaymentId, type PaymentContext, type PaymentWriter } from '../store/paymentWrites.js';
import type { Stores } from '../store/stores.js';
import type { BillingService } from './billing.js';
import { type Answered, type Idempotent, IdempotentTransactions } from './idempotency.js';
import { recordStanding, recordStandingAfter, restorePaidInTime } from './nonPayment.js';

/**
 * Facts a batch of payments (a lockbox deposit, R34) read and locked before its first payment, so
 * each payment need not read them again. Each answers null when it does not know, or when a payment
 * of the batch has changed what it read since (`touch`): the payment then reads the database, after
 * the batch has written what it kept.
 */
export interface KnownFacts {
  /** The locked context of an enrollment. */
  context(enrollmentId: string): Promise<PaymentContext | null>;
  /** The locked context of the enrollment of an invoice, with that invoice. */
  invoiceContext(invoiceNumber: string): Promise<PaymentContext | null>;
  /** R22: the remittance's account and its enrollments with the remittance's carrier. */
  remittance(
    target: Extract<PaymentTarget, { kind: 'remittance' }>,
  ): Promise<{ account: Account | null; candidates: RemittanceCandidate[] } | null>;
  /** A payment of the batch changed this enrollment (or its invoices). */
  touch(enrollmentId: string): void;
}

/**
 * The enrollment or invoice a payment request names (what `paymentTarget` would answer), or null for
 * any other target and for a request `paymentTarget` refuses: those are read as before, in the work.
 */
function namedTarget(req: PaymentRequest): { enrollmentId: string } | { invoiceNumber: string } | null {
  let target: PaymentTarget;
  try {
    target = paymentTarget(req);
  } catch {
    return null;
  }
  if (target.kind === 'enrollment') return { enrollmentId: target.enrollmentId };
  if (target.kind === 'invoice') return { invoiceNumber: target.invoiceNumber };
  return null;
}

type Matched =
  | { kind: 'pay'; context: LockedContext; onlyInvoiceId?: string | undefined }
  | { kind: 'unapplied'; memberId: string | null };
type LockedContext = PaymentContext & { enrollment: Enrollment };
const UNMATCHED: Matched = { kind: 'unapplied', memberId: null };

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

  /**
   * POST /v1/payments: the payment, its effects and its recorded answer are one write. A payment that
   * names its enrollment or invoice reads that target's locked context in the same round trip as the
   * Idempotency-Key (`PaymentWriteStore.begin`), only when the key is new: the reads, locks and their
   * order are those of the two calls it replaces.
   */
  post(req: PaymentRequest, principal: Principal, call: Idempotent<Payment>): Promise<Answered> {
    const named = namedTarget(req);
    let ahead: PaymentContext | null = null;
    return this.idempotent.run(call, (tx, scope) => this.postIn(tx, req, principal, scope.recordFor, ahead), {
      writesOnlyAtEnd: true,
      ...(named
        ? {
            begin: async (tx: Stores, apiKeyId: string, key: string, notBefore: Date) => {
              const r = await tx.paymentWrites.begin(apiKeyId, key, notBefore, named);
              ahead = r.context;
              return r.begun;
            },
          }
        : {}),
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
    ahead: PaymentContext | null,
  ): Promise<Payment> {
    const now = this.clock.now();
    assertMethodAccepted(req.channel, req.method);
    checkMethodDetails(req, now);
    const receivedAt = businessTimestamp('receivedAt', req.receivedAt, {
      now,
      calendar: this.calendar,
      channel: req.channel,
    });
    return this.recordIn(tx, req, paymentTarget(req), { receivedAt, now, principal, recordFor, ahead });
  }

  /**
   * One checked payment, matched (R21-R23), settled (R24) and written, inside the caller's
   * transaction: `post` for a single payment, and each item of a lockbox deposit (R34), which are
   * the same decision. `target` null: nothing to match (a deposit item with neither a usable scan
   * line nor a remittance), kept unapplied. `earlyIsUnapplied`: a receipt before the enrollment's
   * selection keeps the money unapplied for ops instead of refusing it (deposited money).
   */
  async recordIn(
    tx: Stores,
    req: PaymentRequest,
    target: PaymentTarget | null,
    o: {
      receivedAt: Date;
      now: Date;
      principal: Principal;
      recordFor?: (payment: Payment) => IdempotencyRecord | null;
      /** What a batch already read and locked (a lockbox deposit); read from the database when absent. */
      known?: KnownFacts;
      /** The named target's locked context, read with the Idempotency-Key (`post`). */
      ahead?: PaymentContext | null;
      /** Where the decision is written: at once (default), or kept for the batch's next flush. */
      writer?: PaymentWriter;
      id?: string;
      earlyIsUnapplied?: boolean;
      /** Told when `earlyIsUnapplied` kept the payment unapplied. */
      onEarly?: () => void;
      reference?: Record<string, unknown>;
    },
  ): Promise<Payment> {
    const { now, principal, known } = o;
    const recordFor = o.recordFor ?? (() => null);
    const writer = o.writer ?? tx.paymentWrites;
    const matched: Matched = target
      ? await this.match(tx, target, req.channel === 'mail', known, o.ahead ?? undefined)
      : UNMATCHED;
    const created = newPayment(req, target, { id: o.id ?? newPaymentId(), receivedAt: o.receivedAt, now });
    const payment = o.reference ? { ...created, target: { ...created.target, ...o.reference } } : created;
    const write = { mode: 'insert' as const, request: req, actor: principal.keyId };
    const early =
      matched.kind === 'pay' && o.earlyIsUnapplied && payment.receivedAt < matched.context.enrollment.selectedAt;
    if (early) o.onEarly?.();
    if (matched.kind === 'unapplied' || early) {
      const memberId = matched.kind === 'pay' ? matched.context.enrollment.memberId : matched.memberId;
      const kept = markUnapplied(payment, memberId, now);
      await writer.write({ ...write, payment: kept.payment }, null, kept.events, null, now, recordFor(kept.payment));
      return kept.payment;
    }
    return this.payOn(tx, matched, payment, principal, now, {
      known,
      writer,
      write: (applied, settlement, enrollmentId) =>
        writer.write(
          { ...write, payment: applied },
          settlement,
          settlement.events,
          enrollmentId,
          now,
          recordFor(applied),
        ),
    });
  }

  /**
   * R24 with R29-R31 on the matched, locked enrollment: the standing as of the payment's business
   * date is recorded first (R2: the anchor U, a stage, or a termination whose date had passed when
   * the money arrived: then R24 makes this money credit), the money is decided and written, the
   * standing as of now is recorded after (a cure at once), and a recorded termination that this
   * money, received before its date, would have prevented is undone (`restorePaidInTime`).
   */
  private async payOn(
    tx: Stores,
    matched: Extract<Matched, { kind: 'pay' }>,
    payment: Payment,
    principal: Principal,
    now: Date,
    o: {
      write: (applied: Payment, settlement: Settlement, enrollmentId: string) => Promise<unknown>;
      /** What a batch already read and locked (a lockbox deposit, R34). */
      known?: KnownFacts | undefined;
      /** The batch's writer: flushed before anything is read back. */
      writer?: PaymentWriter | undefined;
    },
  ): Promise<Payment> {
    this.assertReceivedAfterSelection(payment, matched.context.enrollment);
    const actor = principal.keyId;
    const before = matched.context.enrollment;
    const standing = (await recordStanding(tx, before, now, matched.context.invoices, {
      asOf: payment.receivedAt,
      actor,
    }))
      ? { ...matched, context: await this.lock(tx, before.id) }
      : matched;
    if (standing !== matched) o.known?.touch(before.id);
    const { applied, settlement } = this.settleOn(payment, standing, principal, now);
    const e = standing.context.enrollment;
    await o.write(applied, settlement, e.id);
    o.known?.touch(e.id);
    // Only an enrollment with a recorded episode (a cure to record) or a recorded termination (money
    // in time may undo it) needs more: the common payment pays nothing for non-payment here.
    if (!e.recordedDelinquency && e.status !== 'terminated') return applied;
    await o.writer?.flush();
    const restored = await restorePaidInTime(tx, e, applied, actor, now);
    if (e.recordedDelinquency || restored) {
      // R2/R29: a cure is recorded as of the money's business date first (a payment received by the
      // pay-by date ends that episode even when posted later), then the standing as of now.
      await recordStandingAfter(tx, e.id, now, { asOf: applied.receivedAt, actor });
      await recordStandingAfter(tx, e.id, now, { actor });
    }
    return applied;
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
  private async match(
    tx: Stores,
    target: PaymentTarget,
    mail: boolean,
    known?: KnownFacts,
    ahead?: PaymentContext,
  ): Promise<Matched> {
    const { facts, context } = await this.matchFacts(tx, target, known, ahead);
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
            : await this.lock(tx, decision.enrollmentId, known);
        return { kind: 'pay', context: locked, onlyInvoiceId: decision.onlyInvoiceId };
      }
    }
  }

  /** The facts `matchPayment` needs; an invoice or enrollment target is read locked in the same call. */
  private async matchFacts(
    tx: Stores,
    target: PaymentTarget,
    known?: KnownFacts,
    ahead?: PaymentContext,
  ): Promise<{ facts: MatchFacts; context?: PaymentContext }> {
    switch (target.kind) {
      case 'invoice': {
        const context =
          ahead ??
          (await known?.invoiceContext(target.invoiceNumber)) ??
          (await tx.paymentWrites.context({ invoiceNumber: target.invoiceNumber }));
        const invoice = context.invoice ? { id: context.invoice.id, memberId: context.invoice.memberId } : null;
        const enrollmentId = context.enrollment?.id ?? null;
        return { facts: { kind: 'invoice', invoiceNumber: target.invoiceNumber, invoice, enrollmentId }, context };
      }
      case 'scanLine': {
        // R33: only a scan line that reads names an invoice; the domain decides whether it matches.
        const read = parseScanLine(target.scanLine);
        const context = read ? await tx.paymentWrites.context({ invoiceNumber: read.invoiceNumber }) : undefined;
        const i = context?.invoices.find((x) => x.id === context.invoice?.id);
        const invoice = i
          ? { id: i.id, memberId: i.memberId, invoiceNumber: i.invoiceNumber, amountDueCents: i.amountDueCents }
          : null;
        const enrollmentId = context?.enrollment?.id ?? null;
        const facts: MatchFacts = { kind: 'scanLine', scanLine: target.scanLine, invoice, enrollmentId };
        if (target.orElse) {
          const orElse = (await this.matchFacts(tx, target.orElse, known)).facts;
          if (orElse.kind === 'remittance') facts.orElse = orElse;
        }
        return { facts, ...(context ? { context } : {}) };
      }
      case 'enrollment': {
        const context = ahead ?? (await tx.paymentWrites.context({ enrollmentId: target.enrollmentId }));
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
        const seen = await known?.remittance(target);
        if (seen) return { facts: { kind: 'remittance', remittance: target, ...seen } };
        const account = await tx.accounts.get(target.memberId);
        const candidates = account
          ? await tx.enrollments.byCarrierName(account.memberId, nameKey(target.carrierName))
          : [];
        return { facts: { kind: 'remittance', remittance: target, account, candidates } };
      }
    }
  }

  private async lock(tx: Stores, enrollmentId: string, known?: KnownFacts): Promise<LockedContext> {
    const ctx = (await known?.context(enrollmentId)) ?? (await tx.paymentWrites.context({ enrollmentId }));
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
    return this.payOn(tx, matched, payment, principal, now, {
      write: (applied, settlement, enrollmentId) =>
        tx.paymentWrites.write(
          { mode: 'update', payment: applied },
          settlement,
          settlement.events,
          enrollmentId,
          now,
          null,
        ),
    });
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
      if (await recordStanding(tx, enrollment, now, undefined, { actor: principal.keyId })) {
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
    // R14: a termination this causes is dated at the return, never before it.
    for (const { enrollment } of enrollments) {
      await recordStandingAfter(tx, enrollment.id, now, { notBefore: now, actor: principal.keyId });
    }
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
