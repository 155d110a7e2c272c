import type { Kysely } from 'kysely';
import type { Carrier } from '../domain/carrier.js';
import { DomainError } from '../domain/errors.js';
import { nameKey } from '../domain/names.js';
import { isUniqueViolation } from './errors.js';
import type { CarrierRow, DB } from './schema.js';

export type { Carrier };

function toCarrier(row: Pick<CarrierRow, 'id' | 'name' | 'created_at'>): Carrier {
  return { id: row.id, name: row.name, createdAt: row.created_at };
}

export class CarrierStore {
  constructor(private readonly db: Kysely<DB>) {}

  async create(id: string, name: string): Promise<Carrier> {
    try {
      const row = await this.db
        .insertInto('carriers')
        .values({ id, name, name_key: nameKey(name) })
        .returning(['id', 'name', 'created_at'])
        .executeTakeFirstOrThrow();
      return toCarrier(row);
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new DomainError('carrier_exists', `A carrier with id "${id}" or name "${name}" already exists.`);
      }
      throw err;
    }
  }

  async get(id: string): Promise<Carrier | null> {
    const row = await this.db
      .selectFrom('carriers')
      .select(['id', 'name', 'created_at'])
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toCarrier(row) : null;
  }

  async list(): Promise<Carrier[]> {
    const rows = await this.db.selectFrom('carriers').select(['id', 'name', 'created_at']).orderBy('id').execute();
    return rows.map(toCarrier);
  }
}
