import type { ColumnType, Insertable, Selectable } from 'kysely';

/** Row types live beside their tables and never leave the store. */
/** A timestamptz with a database default. */
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface CarriersTable {
  id: string;
  name: string;
  name_key: string;
  created_at: CreatedAt;
}
export type CarrierRow = Selectable<CarriersTable>;
export type NewCarrierRow = Insertable<CarriersTable>;

export interface ApiKeysTable {
  id: string;
  secret_hash: Buffer;
  role: 'ops' | 'connector' | 'carrier';
  carrier_id: string | null;
  name: string;
  created_at: CreatedAt;
  revoked_at: NullableTimestamp;
}
export type ApiKeyRow = Selectable<ApiKeysTable>;

export interface DB {
  carriers: CarriersTable;
  api_keys: ApiKeysTable;
}
