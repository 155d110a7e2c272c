import type { Clock } from '../domain/clock.js';
import { DomainError, notFound } from '../domain/errors.js';
import type { Role } from '../domain/principal.js';
import type { ApiKey, ApiKeyStore } from '../store/apiKeys.js';
import type { Carrier } from '../store/carriers.js';
import type { Stores } from '../store/stores.js';
import { type Answered, type Idempotent, IdempotentTransactions } from './idempotency.js';

/** Ops set-up that creates things: carriers and API keys, each with its recorded answer. */
export class AdminService {
  private readonly idempotent: IdempotentTransactions;

  constructor(
    private readonly stores: Stores,
    private readonly clock: Clock,
    private readonly apiKeys: ApiKeyStore,
  ) {
    this.idempotent = new IdempotentTransactions(stores, clock);
  }

  createCarrier(id: string, name: string, call: Idempotent<Carrier>): Promise<Answered> {
    return this.idempotent.run(call, (tx) => tx.carriers.create(id, name));
  }

  /** The secret is in the first answer only: a replay answers `secret: null` (it is never stored). */
  createApiKey(
    input: { role: Role; carrierId: string | null; name: string },
    call: Idempotent<{ key: ApiKey; secret: string }>,
  ): Promise<Answered> {
    return this.idempotent.run(call, async (tx) => {
      if ((input.role === 'carrier') !== (input.carrierId !== null)) {
        throw new DomainError('carrier_scope_required', 'carrierId is required for role carrier and only for it.');
      }
      if (input.carrierId !== null && !(await tx.carriers.get(input.carrierId))) {
        throw new DomainError('carrier_not_found', `Carrier ${input.carrierId} does not exist.`);
      }
      return tx.apiKeys.create(input);
    });
  }

  /** Revocation takes effect on the next request on every instance (the key cache is notified). */
  async revokeApiKey(id: string): Promise<ApiKey> {
    const key = await this.apiKeys.revoke(id, this.clock.now());
    if (key === 'last_ops_key')
      throw new DomainError(
        'last_ops_key',
        `${id} is the only active ops key: create another ops key (POST /v1/api-keys) before revoking it.`,
      );
    if (!key) throw notFound('API key', id);
    return key;
  }

  listCarriers(): Promise<Carrier[]> {
    return this.stores.carriers.list();
  }

  async getCarrier(id: string): Promise<Carrier> {
    const carrier = await this.stores.carriers.get(id);
    if (!carrier) throw notFound('carrier', id);
    return carrier;
  }
}
