import { createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../domain/clock.js';
import { DomainError } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import { isSerializationFailure } from '../store/errors.js';
import { IdempotencyStore } from '../store/idempotency.js';
import type { DB } from '../store/schema.js';

export interface Outcome {
  status: number;
  body: unknown;
}

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
export class IdempotencyService {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly clock: Clock,
    private readonly hmacKey: Buffer,
  ) {}

  /** Forgets keys past the retention period (called by the background sweep). */
  purgeExpired(): Promise<number> {
    return new IdempotencyStore(this.db).purgeOlderThan(
      new Date(this.clock.now().getTime() - IDEMPOTENCY_RETENTION_MS),
    );
  }

  /** Keyed hash: request bodies can hold account numbers, so a plain hash could be brute-forced. */
  fingerprint(method: string, route: string, body: unknown): Buffer {
    return createHmac('sha256', this.hmacKey)
      .update(`${method} ${route}\n${canonical(body)}`)
      .digest();
  }

  async run(
    principal: Principal,
    key: string | undefined,
    requestHash: Buffer,
    work: (trx: Kysely<DB>) => Promise<Outcome>,
    asOutcome: (err: unknown) => Outcome | null,
  ): Promise<Outcome & { replayed: boolean }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(principal, key, requestHash, work, asOutcome);
      } catch (err) {
        if (!isSerializationFailure(err) || attempt >= MAX_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 10));
      }
    }
  }

  private once(
    principal: Principal,
    key: string | undefined,
    requestHash: Buffer,
    work: (trx: Kysely<DB>) => Promise<Outcome>,
    asOutcome: (err: unknown) => Outcome | null,
  ): Promise<Outcome & { replayed: boolean }> {
    return this.db.transaction().execute(async (trx) => {
      if (key === undefined) return { ...(await work(trx)), replayed: false };
      const store = new IdempotencyStore(trx);
      if (!(await store.tryLock(principal.keyId, key))) {
        throw new DomainError(
          'idempotency_key_in_flight',
          'A request with this Idempotency-Key is still being processed.',
        );
      }
      const now = this.clock.now();
      const found = await store.find(principal.keyId, key, new Date(now.getTime() - IDEMPOTENCY_RETENTION_MS));
      if (found) {
        if (!found.requestHash.equals(requestHash)) {
          throw new DomainError('idempotency_key_reused', 'This Idempotency-Key was used with a different request.');
        }
        return { status: found.status, body: found.body, replayed: true };
      }
      await store.savepoint('idempotent_work');
      let outcome: Outcome;
      try {
        outcome = await work(trx);
      } catch (err) {
        const refused = asOutcome(err);
        if (!refused) throw err;
        // A business refusal is an answer too: undo the work, keep the answer for replays.
        await store.rollbackTo('idempotent_work');
        outcome = refused;
      }
      await store.save(principal.keyId, key, { requestHash, status: outcome.status, body: outcome.body }, now);
      return { ...outcome, replayed: false };
    });
  }
}
