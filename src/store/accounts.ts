import { type Kysely, sql } from 'kysely';
import type { Account } from '../domain/accounts.js';
import { DomainError } from '../domain/errors.js';
import { isUniqueViolation } from './errors.js';
import type { AccountRow, DB } from './schema.js';

export function toAccount(row: AccountRow): Account {
  return {
    memberId: row.member_id,
    firstName: row.first_name,
    lastName: row.last_name,
    mailingAddress: {
      line1: row.address_line1,
      ...(row.address_line2 ? { line2: row.address_line2 } : {}),
      city: row.city,
      state: row.state,
      postalCode: row.postal_code,
    },
    phoneNumbers: row.phone_numbers,
    paperless: row.paperless,
    createdAt: row.created_at,
  };
}

export class AccountStore {
  constructor(private readonly db: Kysely<DB>) {}

  async create(a: Omit<Account, 'createdAt'>): Promise<Account> {
    try {
      const row = await this.db
        .insertInto('accounts')
        .values({
          member_id: a.memberId,
          first_name: a.firstName,
          last_name: a.lastName,
          address_line1: a.mailingAddress.line1,
          address_line2: a.mailingAddress.line2 ?? null,
          city: a.mailingAddress.city,
          state: a.mailingAddress.state,
          postal_code: a.mailingAddress.postalCode,
          phone_numbers: a.phoneNumbers,
          paperless: a.paperless,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toAccount(row);
    } catch (err) {
      if (isUniqueViolation(err))
        throw new DomainError('member_exists', `Member ${a.memberId} already has an account.`);
      throw err;
    }
  }

  async get(memberId: string): Promise<Account | null> {
    const row = await this.db.selectFrom('accounts').selectAll().where('member_id', '=', memberId).executeTakeFirst();
    return row ? toAccount(row) : null;
  }

  async byPhoneNumber(phone: string): Promise<Account[]> {
    const rows = await this.db
      .selectFrom('accounts')
      .selectAll()
      .where(sql<boolean>`phone_numbers @> array[${phone}]::text[]`)
      .orderBy('member_id')
      .limit(500)
      .execute();
    return rows.map(toAccount);
  }
}
