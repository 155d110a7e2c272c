import { createHash, randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { ApiKey, Principal, PrincipalLookup, Role } from '../domain/principal.js';
import { type ApiKeyCache, REVOKED_CHANNEL } from '../infra/apiKeyCache.js';
import type { ApiKeyRow, DB } from './schema.js';

/** Transaction-level advisory lock serialising key revocations (class id unique in the service). */
const KEY_REVOCATION_LOCK = 7_301_040;

export type { ApiKey };

/**
 * Secrets are 32 random bytes, so a single SHA-256 is enough to store them safely (no
 * dictionary to attack, unlike passwords) and keeps the per-request lookup an index probe.
 */
export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function newSecret(): string {
  return `cpb_${randomBytes(32).toString('base64url')}`;
}

export function newKeyId(): string {
  return `key_${randomBytes(10).toString('hex')}`;
}

function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    role: row.role,
    carrierId: row.carrier_id,
    name: row.name,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

export class ApiKeyStore implements PrincipalLookup {
  /** With a cache, lookups may be answered from memory; every change that can invalidate a key notifies. */
  constructor(
    private readonly db: Kysely<DB>,
    private readonly cache: ApiKeyCache | null = null,
  ) {}

  /**
   * One indexed probe per request, or a cache hit while the revocation listener is up: revocation
   * still takes effect on the next request on every instance (docs/decisions.md, "API-key cache").
   */
  async principalForSecret(secret: string): Promise<Principal | null> {
    const hash = hashSecret(secret);
    const cacheKey = hash.toString('base64');
    const cached = this.cache?.lookup(cacheKey);
    if (cached?.principal) return cached.principal;
    const row = await this.db
      .selectFrom('api_keys')
      .select(['id', 'role', 'carrier_id'])
      .where('secret_hash', '=', hash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) return null; // unknown and revoked keys are never cached: a new key works at once
    const principal: Principal = { keyId: row.id, role: row.role, carrierId: row.carrier_id };
    this.cache?.principals.remember(cacheKey, principal, cached?.token ?? null);
    return principal;
  }

  async create(input: { role: Role; carrierId: string | null; name: string; secret?: string; id?: string }) {
    const secret = input.secret ?? newSecret();
    const row = await this.db
      .insertInto('api_keys')
      .values({
        id: input.id ?? newKeyId(),
        secret_hash: hashSecret(secret),
        role: input.role,
        carrier_id: input.carrierId,
        name: input.name,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { key: toApiKey(row), secret };
  }

  /**
   * Makes sure an ops key with exactly this secret exists (BOOTSTRAP_OPS_KEY, local runs). It may
   * replace the secret of an existing key, so caches drop whatever they hold for this key id.
   * A revoked key stays revoked whatever the secret (revocation is final; nothing is changed and
   * nothing notified): the caller answers `'revoked'` with a warning and keeps starting.
   */
  async ensureOpsKey(id: string, name: string, secret: string): Promise<'active' | 'revoked'> {
    const written = await this.changeAndNotify(id, async (trx) => {
      const row = await trx
        .insertInto('api_keys')
        .values({ id, secret_hash: hashSecret(secret), role: 'ops', carrier_id: null, name })
        .onConflict((oc) =>
          oc
            .column('id')
            .doUpdateSet({ secret_hash: hashSecret(secret), role: 'ops', carrier_id: null })
            .where('api_keys.revoked_at', 'is', null),
        )
        .returning('id')
        .executeTakeFirst();
      return row !== undefined;
    });
    return written ? 'active' : 'revoked';
  }

  /**
   * Returns once the revocation is committed and every listening instance has dropped the key;
   * `'last_ops_key'` (nothing changed) when it is the only active ops key: revoking it would leave
   * nobody able to create keys, and a restart never brings a revoked key back. The active ops keys
   * are locked first, so two revocations at once cannot take the last two.
   */
  async revoke(id: string, at: Date): Promise<ApiKey | null | 'last_ops_key'> {
    let last = false;
    const row = await this.changeAndNotify(id, async (trx) => {
      // Revocations one at a time (they are rare): ordered row locks alone still deadlocked when
      // ops keys revoked each other at once over two instances (black-box run of issue 16).
      await sql`select pg_advisory_xact_lock(${KEY_REVOCATION_LOCK}::int4, 0)`.execute(trx);
      const ops = await trx
        .selectFrom('api_keys')
        .select('id')
        .where('role', '=', 'ops')
        .where('revoked_at', 'is', null)
        .orderBy('id')
        .forUpdate()
        .execute();
      if (ops.length === 1 && ops[0]?.id === id) {
        last = true;
        return undefined;
      }
      return trx
        .updateTable('api_keys')
        .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(at)) }))
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
    });
    if (last) return 'last_ops_key';
    return row ? toApiKey(row) : null;
  }

  /**
   * Runs the change and `pg_notify(api_key_revoked, id)` in one transaction, so the notification is
   * delivered exactly when (and only if) the change commits; then evicts locally and waits, bounded,
   * for the other instances' acknowledgements.
   */
  private async changeAndNotify<T>(id: string, change: (trx: Kysely<DB>) => Promise<T | undefined>) {
    const propagation = this.cache?.expectRevocation(id);
    try {
      const result = await this.db.transaction().execute(async (trx) => {
        const r = await change(trx);
        if (r) await sql`select pg_notify(${REVOKED_CHANNEL}, ${id})`.execute(trx);
        return r;
      });
      if (result) await propagation?.settle();
      return result;
    } finally {
      propagation?.dispose();
    }
  }
}
