import type { Kysely } from 'kysely';

/**
 * Carrier name keys follow the Unicode-aware `nameKey` (NFKC, full case folding) that matching now
 * uses: a key stored by the older ASCII-case-only function is recomputed, so a carrier named with
 * "ß", a combining accent or full-width letters is still found by a remittance's carrier name.
 * Carriers are a handful of rows: one short transaction. The function is a frozen copy.
 */
const nameKey = (name: string): string =>
  name.normalize('NFKC').trim().replace(/\s+/g, ' ').toUpperCase().toLowerCase().normalize('NFKC');

export async function up(db: Kysely<any>): Promise<void> {
  const rows = await db.selectFrom('carriers').select(['id', 'name', 'name_key']).execute();
  for (const row of rows) {
    const key = nameKey(row.name as string);
    if (key !== row.name_key)
      await db.updateTable('carriers').set({ name_key: key }).where('id', '=', row.id).execute();
  }
}

/** Back to the keys the older function made (trimmed, white space collapsed, lower case). */
export async function down(db: Kysely<any>): Promise<void> {
  const rows = await db.selectFrom('carriers').select(['id', 'name']).execute();
  for (const row of rows) {
    const key = (row.name as string).trim().replace(/\s+/g, ' ').toLowerCase();
    await db.updateTable('carriers').set({ name_key: key }).where('id', '=', row.id).execute();
  }
}
