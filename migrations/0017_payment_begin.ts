import { type Kysely, sql } from 'kysely';

/**
 * Issue 16: a payment's first two round trips in one. `payment_begin` takes the Idempotency-Key's lock
 * and reads its stored answer (`idempotency_begin`, migration 0006); only when the key is free and
 * new does it go on to the payment's locked context (`payment_context`, same migration) for an
 * enrollment or invoice target. A replay, or a key another request holds, reads and locks nothing
 * more, exactly as before; the locks are taken in the same order (key, then enrollment, then its
 * invoices). Storage only: the service still decides everything. A new function: quick under its lock.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function payment_begin(p_api_key_id text, p_key text, p_not_before timestamptz,
                                  p_enrollment_id text, p_invoice_number text)
    returns table (locked boolean, request_hash bytea, response_status int, response_body jsonb, context jsonb)
    language plpgsql volatile as $$
    declare
      b record;
    begin
      select * into b from idempotency_begin(p_api_key_id, p_key, p_not_before) limit 1;
      if not b.locked or b.request_hash is not null
         or (p_enrollment_id is null and p_invoice_number is null) then
        return query select b.locked, b.request_hash, b.response_status, b.response_body, null::jsonb;
        return;
      end if;
      return query select true, null::bytea, null::int, null::jsonb, payment_context(p_enrollment_id, p_invoice_number);
    end
    $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function payment_begin(text, text, timestamptz, text, text)`.execute(db);
}
