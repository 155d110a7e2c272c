import type { Kysely } from 'kysely';
import type { Clock } from '../domain/clock.js';
import { DomainError, notFound } from '../domain/errors.js';
import type { Role } from '../domain/principal.js';
import { type ApiKey, ApiKeyStore } from '../store/apiKeys.js';
import { type Carrier, CarrierStore } from '../store/carriers.js';
import type { DB } from '../store/schema.js';
import { type Answered, type Idempotent, IdempotentTransactions } from './idempotency.js';

/** Ops set-up that creates things: carriers and API keys, each with its recorded answer. */
export class AdminService {
  private readonly idempotent: IdempotentTransactions;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly clock: Clock,
    private readonly apiKeys: ApiKeyStore,
  ) {
    this.idempotent = new IdempotentTransactions(db, clock);
  }

  createCarrier(id: string, name: string, call: Idempotent<Carrier>): Promise<Answered> {
    return this.idempotent.run(call, (trx) => new CarrierStore(trx).create(id, name));
  }

  /** The secret is in the first answer only: a replay answers `secret: null` (it is never stored). */
  createApiKey(
    input: { role: Role; carrierId: string | null; name: string },
    call: Idempotent<{ key: ApiKey; secret: string }>,
  ): Promise<Answered> {
    return this.idempotent.run(call, async (trx) => {
      if ((input.role === 'carrier') !== (input.carrierId !== null)) {
        throw new DomainError('carrier_scope_required', 'carrierId is required for role carrier and only for it.');
      }
      if (input.carrierId !== null && !(await new CarrierStore(trx).get(input.carrierId))) {
        throw new DomainError('carrier_not_found', `Carrier ${input.carrierId} does not exist.`);
      }
      return new ApiKeyStore(trx).create(input);
    });
  }

  /** Revocation takes effect on the next request on every instance (the key cache is notified). */
  async revokeApiKey(id: string): Promise<ApiKey> {
    const key = await this.apiKeys.revoke(id, this.clock.now());
    if (!key) throw notFound('API key', id);
    return key;
  }

  listCarriers(): Promise<Carrier[]> {
    return new CarrierStore(this.db).list();
  }

  async getCarrier(id: string): Promise<Carrier> {
    const carrier = await new CarrierStore(this.db).get(id);
    if (!carrier) throw notFound('carrier', id);
    return carrier;
  }
}
