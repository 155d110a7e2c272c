import { createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../domain/clock.js';
import { DomainError } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import { isSerializationFailure } from '../store/errors.js';
import { type IdempotencyRecord, IdempotencyStore } from '../store/idempotency.js';
import type { DB } from '../store/schema.js';

export interface Outcome {
  status: number;
  body: unknown;
}

/** Given to the work: lets it write the idempotency record in its own final statement. */
export interface IdempotentScope {
  /** The record to store with this outcome; null when the request carried no key. */
  recordFor(outcome: Outcome): IdempotencyRecord | null;
}

/** `recorded: true` when the work wrote `recordFor(outcome)` itself. */
export type IdempotentWork = (trx: Kysely<DB>, scope: IdempotentScope) => Promise<Outcome & { recorded?: boolean }>;

export interface RunOptions {
  /**
   * false when the work writes nothing before its last statement (it decides first, then writes
   * once): a business refusal then needs no savepoint to undo, which saves a round trip.
   */
  writesOnlyAtEnd?: boolean;
}

const NO_KEY: IdempotentScope = { recordFor: () => null };

/** Keys are honoured for at least 24 hours (we keep them 48). */
export const IDEMPOTENCY_RETENTION_MS = 48 * 3_600_000;
const MAX_ATTEMPTS = 4;

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * One transaction holds the key's lock, the work and the stored response, so a 2xx is only ever
 * sent for committed work and a retry after a crash either replays it or redoes it, never both.
 * While the first request runs, the same key answers 409 `idempotency_key_in_flight`.
 */
/** A request's fingerprint: the one stored for new keys, and the ones older releases stored that still match. */
export interface Fingerprint {
  current: Buffer;
  accepted: readonly Buffer[];
}

export class IdempotencyService {
  /**
   * `hmacKey` keys new fingerprints (IDEMPOTENCY_HMAC_KEY); `legacyHmacKeys` only match fingerprints
   * stored before it existed, so keys sent before an upgrade keep replaying (docs/decisions.md).
   */
  constructor(
    private readonly db: Kysely<DB>,
    private readonly clock: Clock,
    private readonly hmacKey: Buffer,
    private readonly legacyHmacKeys: readonly Buffer[] = [],
  ) {}

  /** Forgets keys past the retention period (called by the background sweep). */
  purgeExpired(): Promise<number> {
    return new IdempotencyStore(this.db).purgeOlderThan(
      new Date(this.clock.now().getTime() - IDEMPOTENCY_RETENTION_MS),
    );
  }

  /** Keyed hash: request bodies can hold account numbers, so a plain hash could be brute-forced. */
  fingerprint(method: string, route: string, body: unknown): Fingerprint {
    const text = `${method} ${route}\n${canonical(body)}`;
    const mac = (key: Buffer) => createHmac('sha256', key).update(text).digest();
    return { current: mac(this.hmacKey), accepted: this.legacyHmacKeys.map(mac) };
  }

  async run(
    principal: Principal,
    key: string | undefined,
    requestHash: Fingerprint,
    work: IdempotentWork,
    asOutcome: (err: unknown) => Outcome | null,
    options: RunOptions = {},
  ): Promise<Outcome & { replayed: boolean }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(principal, key, requestHash, work, asOutcome, options);
      } catch (err) {
        if (!isSerializationFailure(err) || attempt >= MAX_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 10));
      }
    }
  }

  private once(
    principal: Principal,
    key: string | undefined,
    requestHash: Fingerprint,
    work: IdempotentWork,
    asOutcome: (err: unknown) => Outcome | null,
    options: RunOptions,
  ): Promise<Outcome & { replayed: boolean }> {
    return this.db.transaction().execute(async (trx) => {
      if (key === undefined) {
        const { status, body } = await work(trx, NO_KEY);
        return { status, body, replayed: false };
      }
      const store = new IdempotencyStore(trx);
      const now = this.clock.now();
      const begun = await store.begin(principal.keyId, key, new Date(now.getTime() - IDEMPOTENCY_RETENTION_MS));
      if (!begun.locked) {
        throw new DomainError(
          'idempotency_key_in_flight',
          'A request with this Idempotency-Key is still being processed.',
        );
      }
      if (begun.found) {
        const stored = begun.found.requestHash;
        if (![requestHash.current, ...requestHash.accepted].some((h) => h.equals(stored))) {
          throw new DomainError('idempotency_key_reused', 'This Idempotency-Key was used with a different request.');
        }
        return { status: begun.found.status, body: begun.found.body, replayed: true };
      }
      const savepoint = !options.writesOnlyAtEnd;
      if (savepoint) await store.savepoint('idempotent_work');
      const scope: IdempotentScope = {
        recordFor: (o) => ({
          apiKeyId: principal.keyId,
          key,
          requestHash: requestHash.current,
          status: o.status,
          body: o.body,
          at: now,
        }),
      };
      let outcome: Outcome;
      let recorded = false;
      try {
        const done = await work(trx, scope);
        outcome = { status: done.status, body: done.body };
        recorded = done.recorded === true;
      } catch (err) {
        const refused = asOutcome(err);
        if (!refused) throw err;
        // A business refusal is an answer too: undo the work, keep the answer for replays. Work that
        // writes only at its end has written nothing when it refuses.
        if (savepoint) await store.rollbackTo('idempotent_work');
        outcome = refused;
      }
      if (!recorded) await store.save(scope.recordFor(outcome) as IdempotencyRecord);
      return { ...outcome, replayed: false };
    });
  }
}
