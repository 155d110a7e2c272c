import { createHash } from 'node:crypto';
import type { BusinessCalendar } from '../domain/calendar.js';
import type { Clock } from '../domain/clock.js';
import { addDays, businessDateOf, startOfBusinessDay } from '../domain/dates.js';
import { DomainError, notFound } from '../domain/errors.js';
import {
  type AchFileRecord,
  classifyReturns,
  effectiveDateFor,
  fileIdModifier,
  type NachaChangeNotice,
  type NachaOrigin,
  nachaRecords,
  originate,
  parseReturnFile,
  type ReturnOutcome,
  selectForFile,
} from '../domain/nacha.js';
import { checkReturnEntries, inFileOrder, type ReturnFileWarning } from '../domain/nachaReturnChecks.js';
import type { Principal } from '../domain/principal.js';
import type { Page } from '../store/pagination.js';
import type { Stores } from '../store/stores.js';
import type { WarnLog } from './billing.js';
import { type Answered, type Idempotent, IdempotentTransactions } from './idempotency.js';
import type { PaymentService } from './payments.js';

/** A new file, with how many pending payments did not fit it and wait for the next file. */

/** A claim not refreshed for this long belongs to a request that died (migration 0025). */
const CLAIM_STALE_SECONDS = 60;
const CLAIM_REFRESH_MS = 10_000;
/** How long a copy waits for another copy of the same file, and how often it looks. */
const COPY_WAIT_MS = 5 * 60_000;
const COPY_POLL_MS = 50;
export type CreatedAchFile = AchFileRecord & { pendingAfter: number };

export interface ReturnFileResult {
  id: string;
  receivedAt: Date;
  firstReceivedAt: Date;
  /** True when this very file (same SHA-256) was received before: nothing changed this time. */
  repeat: boolean;
  returns: {
    traceNumber: string;
    reasonCode: string;
    returnTraceNumber: string;
    paymentId: string | null;
    outcome: ReturnOutcome;
  }[];
  notificationsOfChange: {
    traceNumber: string;
    changeCode: string;
    paymentId: string | null;
    corrected: NachaChangeNotice['corrected'];
  }[];
  /**
   * What the file gets wrong (review R3): amounts and transaction codes against our entries, batch and
   * file control records. Reported, never enforced (SPEC R36 matches by trace number); empty when clean.
   * A repeated file answers the warnings recorded when it was first received.
   */
  warnings: ReturnFileWarning[];
}

/**
 * ACH origination (R35) and returns (R36). Creating a file reads the pending bank payments locked,
 * decides the whole file (`originate`), and writes the file (encrypted) with every payment's trace
 * number in one transaction. A return file applies each return as R25 through the payment
 * service's own return path, one transaction per return.
 */
export class AchService {
  private readonly idempotent: IdempotentTransactions;
  private readonly log: WarnLog;

  constructor(
    private readonly stores: Stores,
    private readonly clock: Clock,
    private readonly calendar: BusinessCalendar,
    private readonly origin: NachaOrigin,
    private readonly payments: PaymentService,
    options: { log?: WarnLog } = {},
  ) {
    this.idempotent = new IdempotentTransactions(stores, clock);
    this.log = options.log ?? { warn: () => {} };
  }

  /** POST /v1/ops/ach-files. */
  createFile(
    effectiveDate: string | undefined,
    principal: Principal,
    call: Idempotent<CreatedAchFile>,
  ): Promise<Answered> {
    return this.idempotent.run(call, async (tx) => {
      const now = this.clock.now();
      const effective = effectiveDateFor(effectiveDate, now, this.calendar);
      await tx.ach.lockFileCreation();
      const { chosen, left } = selectForFile(await tx.ach.lockPending());
      const today = businessDateOf(now);
      const modifier = fileIdModifier(
        await tx.ach.countCreatedBetween(startOfBusinessDay(today), startOfBusinessDay(addDays(today, 1))),
      );
      const sequences = await tx.ach.traceSequences(chosen.length);
      const { file, entries } = originate({
        pending: chosen,
        traceSequences: sequences,
        origin: this.origin,
        createdAt: now,
        fileIdModifier: modifier,
        effectiveDate: effective,
      });
      const record = await tx.ach.insertFile({
        createdAt: now,
        createdBy: principal.keyId,
        effectiveDate: effective,
        fileIdModifier: modifier,
        entryCount: file.entryCount,
        batchCount: file.batches.length,
        totalDebitCents: file.totalDebitCents,
        entryHash: file.entryHash,
        body: file.text,
        entries,
      });
      return { ...record, pendingAfter: left };
    });
  }

  list(limit: number, after?: string): Promise<Page<AchFileRecord>> {
    return this.stores.ach.list(limit, after);
  }

  /** GET /v1/ops/ach-files/{id}: the file's text; the download is recorded with it. */
  async download(id: string, principal: Principal): Promise<string> {
    const body = await this.stores.transaction((tx) => tx.ach.readBody(id, principal.keyId, this.clock.now()));
    if (body === null) throw notFound('ACH file', id);
    return body;
  }

  /**
   * POST /v1/ops/ach-returns. The file is parsed first (a malformed file is a 400 and is not
   * remembered). Each return runs in its own transaction, so a file received twice, or again after
   * a crash half way, applies each return once; the file's hash is recorded with the answer.
   *
   * Integrity (review R3): the file's control records and each entry's amount and transaction code
   * against the payment it names are checked and answered as `warnings`, never refused: SPEC R36
   * matches by trace number alone (docs/decisions.md). They are recorded with the file (a repeat
   * answers the same ones) and logged once, when the file is first recorded, by code, line and trace
   * number (never an account number).
   */
  async receiveReturns(text: string, principal: Principal, call: Idempotent<ReturnFileResult>): Promise<Answered> {
    const parsed = parseReturnFile(text);
    // The same records are the same file, whatever the line ends, byte-order mark or trailing blanks.
    const sha256 = createHash('sha256').update(nachaRecords(text).join('\n')).digest();
    let firstRecorded: { id: string; warnings: ReturnFileWarning[] } | null = null;
    let claimed = false;
    let released = false;
    let answered: Answered;
    try {
      answered = await this.idempotent.runInSteps(call, async () => {
        const receivedAt = this.clock.now();
        const { before, claim } = await this.claimOrWaitForCopies(sha256);
        claimed = claim;
        let refreshedAt = Date.now();
        const traces = [...parsed.returns, ...parsed.notices].map((r) => r.originalTraceNumber);
        const byTrace = await this.stores.ach.paymentsByTrace(traces);
        const found = inFileOrder([
          ...parsed.warnings,
          ...checkReturnEntries([...parsed.returns, ...parsed.notices], byTrace),
        ]);
        const returns: ReturnFileResult['returns'] = [];
        for (const { item, paymentId, outcome } of classifyReturns(parsed.returns, byTrace)) {
          const applied =
            outcome === 'returned' && paymentId
              ? await this.applyReturn(paymentId, item.reasonCode, principal)
              : outcome;
          if (claimed && Date.now() - refreshedAt > CLAIM_REFRESH_MS) {
            await this.stores.ach.refreshReturnFileClaim(sha256);
            refreshedAt = Date.now();
          }
          returns.push({
            traceNumber: item.originalTraceNumber,
            reasonCode: item.reasonCode,
            returnTraceNumber: item.returnTraceNumber,
            paymentId,
            outcome: applied,
          });
        }
        const notificationsOfChange = parsed.notices.map((n) => ({
          traceNumber: n.originalTraceNumber,
          changeCode: n.changeCode,
          paymentId: byTrace.get(n.originalTraceNumber)?.id ?? null,
          corrected: n.corrected,
        }));
        return async (tx: Stores) => {
          const recorded = await tx.ach.recordReturnFile({
            sha256,
            receivedAt,
            receivedBy: principal.keyId,
            returnCount: parsed.returns.length,
            notificationCount: parsed.notices.length,
            warnings: found,
          });
          if (claimed) {
            await tx.ach.releaseReturnFileClaim(sha256);
            released = true;
          }
          // The answer's transaction may be retried: what it last recorded is what is logged.
          firstRecorded = recorded.created && found.length > 0 ? { id: recorded.id, warnings: found } : null;
          return {
            id: recorded.id,
            receivedAt,
            firstReceivedAt: recorded.firstReceivedAt,
            // A copy recorded first by a concurrent request makes this one a repeat too.
            repeat: before !== null || !recorded.created,
            returns,
            notificationsOfChange,
            warnings: recorded.warnings ?? found,
          };
        };
      });
    } finally {
      // A copy that failed, or answered a refusal, frees the file for the next copy at once (a claim
      // released with the answer is already gone, and may be another copy's by now).
      if (claimed && !released) await this.stores.ach.releaseReturnFileClaim(sha256).catch(() => undefined);
    }
    const logged = firstRecorded as { id: string; warnings: ReturnFileWarning[] } | null;
    if (logged) {
      this.log.warn(
        {
          returnFileId: logged.id,
          // Codes, lines, trace numbers and amounts in cents: a warning never carries an account number.
          warnings: logged.warnings,
        },
        'ACH return file applied with integrity warnings',
      );
    }
    return answered;
  }

  /**
   * R36: one copy of a return file at a time. A copy that finds the file recorded is a repeat; else it
   * claims the file's hash and applies it; a copy that finds a live claim waits (polling, no
   * transaction held) until the file is recorded or the claim is freed or goes stale (its request
   * died), then looks again. Copies of one file posted at once split its returns between them before.
   */
  private async claimOrWaitForCopies(
    sha256: Buffer,
  ): Promise<{ before: { id: string; firstReceivedAt: Date } | null; claim: boolean }> {
    const giveUpAt = Date.now() + COPY_WAIT_MS;
    for (;;) {
      const before = await this.stores.ach.returnFileReceived(sha256);
      if (before) return { before, claim: false };
      if (await this.stores.ach.claimReturnFile(sha256, CLAIM_STALE_SECONDS)) {
        // Recorded by a copy that finished between the two statements: a repeat after all.
        const recorded = await this.stores.ach.returnFileReceived(sha256);
        if (!recorded) return { before: null, claim: true };
        await this.stores.ach.releaseReturnFileClaim(sha256);
        return { before: recorded, claim: false };
      }
      if (Date.now() > giveUpAt) throw new Error('another copy of this return file has been applied for too long');
      await new Promise((r) => setTimeout(r, COPY_POLL_MS));
    }
  }

  /** R25 for one return, exactly as `POST /v1/payments/{id}/returns` does; a race with another return is `already_returned`. */
  private async applyReturn(paymentId: string, reasonCode: string, principal: Principal): Promise<ReturnOutcome> {
    try {
      await this.idempotent.run({ key: null, answer: () => ({ status: 200, body: null }), refusal: () => null }, (tx) =>
        this.payments.returnPayment(tx, paymentId, reasonCode, undefined, principal),
      );
      return 'returned';
    } catch (err) {
      if (err instanceof DomainError && err.code === 'already_returned') return 'already_returned';
      throw err;
    }
  }
}
