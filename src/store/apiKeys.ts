import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Principal, Role } from '../domain/principal.js';
import type { ApiKeyRow, DB } from './schema.js';

export interface ApiKey {
  id: string;
  role: Role;
  carrierId: string | null;
  name: string;
  createdAt: Date;
  revokedAt: Date | null;
}

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

export class ApiKeyStore {
  constructor(private readonly db: Kysely<DB>) {}

  /** One indexed probe per request: revocation takes effect on the next request. */
  async principalForSecret(secret: string): Promise<Principal | null> {
    const row = await this.db
      .selectFrom('api_keys')
      .select(['id', 'role', 'carrier_id'])
      .where('secret_hash', '=', hashSecret(secret))
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return row ? { keyId: row.id, role: row.role, carrierId: row.carrier_id } : null;
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

  /** Makes sure an ops key with exactly this secret exists (BOOTSTRAP_OPS_KEY, local runs). */
  async ensureOpsKey(id: string, name: string, secret: string): Promise<void> {
    await this.db
      .insertInto('api_keys')
      .values({ id, secret_hash: hashSecret(secret), role: 'ops', carrier_id: null, name })
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet({ secret_hash: hashSecret(secret), revoked_at: null, role: 'ops', carrier_id: null }),
      )
      .execute();
  }

  async revoke(id: string, at: Date): Promise<ApiKey | null> {
    const row = await this.db
      .updateTable('api_keys')
      .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(at)) }))
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row ? toApiKey(row) : null;
  }
}
