import { createHmac } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import { DomainError } from '../domain/errors.js';
import { isSerializationFailure } from '../store/errors.js';
import type { IdempotencyRecord, StoredResponse } from '../store/idempotency.js';
import type { Stores } from '../store/stores.js';

/** An answer as the caller sees it: a status and a JSON body. */
export interface Outcome {
  status: number;
  body: unknown;
}

/** What a use case answered, and whether it is the replay of an earlier answer. */
export type Answered = Outcome & { replayed: boolean };

/** The caller's Idempotency-Key and the fingerprint of its request (read by the HTTP plugin). */
export interface IdempotencyKey {
  apiKeyId: string;
  key: string;
  requestHash: Fingerprint;
}

/**
 * The plain idempotency context a use case receives: the key (null when none was sent), how its
 * result becomes the answer, and which refusals are answers too (business refusals, 404/409/422).
 * `stored` is what a replay answers when it must differ from the first answer (a new API key's
 * secret is shown once and never stored).
 */
export interface Idempotent<T> {
  key: IdempotencyKey | null;
  answer(result: T): Outcome & { stored?: unknown };
  refusal(err: unknown): Outcome | null;
}

/** Given to a use case's work: the record to write with its own final statement, if it can. */
export interface IdempotentScope<T> {
  recordFor(result: T): IdempotencyRecord | null;
}

export interface RunOptions {
  /**
   * true when the work writes nothing before its last statement (it decides first, then writes
   * once): a business refusal then needs no savepoint to undo, which saves a round trip.
   */
  writesOnlyAtEnd?: boolean;
  /**
   * Takes the key's lock and reads its stored answer in place of `IdempotencyStore.begin`, with the
   * same answer; a use case can read what it needs first in the same round trip (a payment's
   * locked context, `PaymentWriteStore.begin`). Called again for each attempt.
   */
  begin?: (tx: Stores, apiKeyId: string, key: string, notBefore: Date) => Promise<Begun>;
}

/** The key's lock and, once it is held, its stored answer (`locked` false: another request holds it). */
export type Begun = { locked: boolean; found: StoredResponse | null };

/** Keys are honoured for at least 24 hours (we keep them 48). */
export const IDEMPOTENCY_RETENTION_MS = 48 * 3_600_000;
const MAX_ATTEMPTS = 4;

/** The same JSON value gives the same text whatever the member order and white space. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A request's fingerprint: the one stored for new keys, and the ones older releases stored that still match. */
export interface Fingerprint {
  current: Buffer;
  accepted: readonly Buffer[];
}

/** Request fingerprints and the retention sweep. The HMAC key is injected (its own configuration). */
export class IdempotencyService {
  /**
   * `hmacKey` keys new fingerprints (IDEMPOTENCY_HMAC_KEY); `legacyHmacKeys` only match fingerprints
   * stored before it existed, so keys sent before an upgrade keep replaying (docs/decisions.md).
   */
  constructor(
    private readonly stores: Stores,
    private readonly clock: Clock,
    private readonly hmacKey: Buffer,
    private readonly legacyHmacKeys: readonly Buffer[] = [],
  ) {}

  /** Forgets keys past the retention period (called by the background sweep). */
  purgeExpired(): Promise<number> {
    return this.stores.idempotency.purgeOlderThan(new Date(this.clock.now().getTime() - IDEMPOTENCY_RETENTION_MS));
  }

  /** Keyed hash: request bodies can hold account numbers, so a plain hash could be brute-forced. */
  fingerprint(method: string, route: string, body: unknown): Fingerprint {
    const text = `${method} ${route}\n${canonicalJson(body)}`;
    const mac = (key: Buffer) => createHmac('sha256', key).update(text).digest();
    return { current: mac(this.hmacKey), accepted: this.legacyHmacKeys.map(mac) };
  }
}

type Lookup = { replay: Answered } | { fresh: true };

/**
 * Transactions for use cases that honour an Idempotency-Key. One transaction holds the key's lock,
 * the work and the stored answer, so a 2xx is only ever sent for committed work and a retry after a
 * crash either replays it or redoes it, never both. While the first request runs, the same key
 * answers 409 `idempotency_key_in_flight`; with a different request, 422 `idempotency_key_reused`.
 */
export class IdempotentTransactions {
  constructor(
    private readonly stores: Stores,
    private readonly clock: Clock,
  ) {}

  /** The work runs in one transaction with the key's lock and its recorded answer. */
  async run<T>(
    call: Idempotent<T>,
    work: (stores: Stores, scope: IdempotentScope<T>) => Promise<T>,
    options: RunOptions = {},
  ): Promise<Answered> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.stores.transaction((tx) => this.once(tx, call, work, options));
      } catch (err) {
        if (!isSerializationFailure(err) || attempt >= MAX_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, 5 * attempt + Math.random() * 10));
      }
    }
  }

  /**
   * For work that spans several transactions of its own (billing runs, deadline sweeps), each
   * exactly-once by itself: the key is looked up first (a replay does no work), the work runs, and
   * `finish` writes its last step together with the answer. A twin request that finished meanwhile
   * is replayed instead of recorded twice.
   */
  async runInSteps<T>(call: Idempotent<T>, work: () => Promise<(stores: Stores) => Promise<T>>): Promise<Answered> {
    if (call.key) {
      const found = await this.stores.transaction((tx) => this.lookup(tx, call));
      if ('replay' in found) return found.replay;
    }
    let finish: (stores: Stores) => Promise<T>;
    try {
      finish = await work();
    } catch (err) {
      const refused = call.key ? call.refusal(err) : null;
      if (!refused) throw err;
      finish = () => Promise.reject(err);
    }
    return this.run(call, (tx) => finish(tx));
  }

  private async lookup<T>(tx: Stores, call: Idempotent<T>, options: RunOptions = {}): Promise<Lookup> {
    const key = call.key as IdempotencyKey;
    const notBefore = new Date(this.clock.now().getTime() - IDEMPOTENCY_RETENTION_MS);
    const begun = options.begin
      ? await options.begin(tx, key.apiKeyId, key.key, notBefore)
      : await tx.idempotency.begin(key.apiKeyId, key.key, notBefore);
    if (!begun.locked) {
      throw new DomainError(
        'idempotency_key_in_flight',
        'A request with this Idempotency-Key is still being processed.',
      );
    }
    if (!begun.found) return { fresh: true };
    const stored = begun.found.requestHash;
    if (![key.requestHash.current, ...key.requestHash.accepted].some((h) => h.equals(stored))) {
      throw new DomainError('idempotency_key_reused', 'This Idempotency-Key was used with a different request.');
    }
    return { replay: { status: begun.found.status, body: begun.found.body, replayed: true } };
  }

  private async once<T>(
    tx: Stores,
    call: Idempotent<T>,
    work: (stores: Stores, scope: IdempotentScope<T>) => Promise<T>,
    options: RunOptions,
  ): Promise<Answered> {
    const key = call.key;
    if (!key) {
      const { status, body } = call.answer(await work(tx, { recordFor: () => null }));
      return { status, body, replayed: false };
    }
    const found = await this.lookup(tx, call, options);
    if ('replay' in found) return found.replay;
    const at = this.clock.now();
    const record = (o: Outcome & { stored?: unknown }): IdempotencyRecord => ({
      apiKeyId: key.apiKeyId,
      key: key.key,
      requestHash: key.requestHash.current,
      status: o.status,
      body: 'stored' in o ? o.stored : o.body,
      at,
    });
    let answered: (Outcome & { stored?: unknown }) | null = null;
    const scope: IdempotentScope<T> = {
      recordFor: (result) => {
        answered = call.answer(result);
        return record(answered);
      },
    };
    const savepoint = !options.writesOnlyAtEnd;
    if (savepoint) await tx.savepoint('idempotent_work');
    let outcome: Outcome & { stored?: unknown };
    let recorded = false;
    try {
      const result = await work(tx, scope);
      recorded = answered !== null;
      outcome = answered ?? call.answer(result);
    } catch (err) {
      const refused = call.refusal(err);
      if (!refused) throw err;
      // A business refusal is an answer too: undo the work, keep the answer for replays. Work that
      // writes only at its end has written nothing when it refuses.
      if (savepoint) await tx.rollbackToSavepoint('idempotent_work');
      outcome = refused;
    }
    if (!recorded) await tx.idempotency.save(record(outcome));
    return { status: outcome.status, body: outcome.body, replayed: false };
  }
}
