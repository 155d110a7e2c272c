import { type Kysely, sql } from 'kysely';

/**
 * R34: one row per recorded lockbox deposit. `deposit_id` is the lockbox's own id and the deposit's
 * idempotency key (unique, whoever sends it); `request_hash` is the keyed fingerprint of the body it
 * was recorded with (a different body is `idempotency_key_reused`); `answer` is the reconciliation
 * answered then, replayed by a retry and by GET. A new table and a new function: quick under their locks.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('lockbox_deposits')
    .addColumn('deposit_id', 'text', (c) => c.primaryKey())
    .addColumn('deposit_date', 'date', (c) => c.notNull())
    .addColumn('item_count', 'integer', (c) => c.notNull())
    .addColumn('total_cents', 'bigint', (c) => c.notNull())
    .addColumn('request_hash', 'bytea', (c) => c.notNull())
    .addColumn('answer', 'jsonb', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // A deposit's payments written in one call: the same writes as `payment_write` (migration 0006)
  // for an array of new payments, in array order (invoice and enrollment changes are deltas and
  // later values, so several payments on one enrollment compose as if written one by one). Rows go
  // in set-based; changed invoices and enrollments are one indexed update each.
  await sql`
    create function payment_write_many(p jsonb) returns void language plpgsql volatile as $$
    declare
      change record;
    begin
      insert into payments (id, status, channel, method, amount_cents, received_at, member_id, enrollment_id,
                            guest, target, credited_cents, unapplied_cents, bank_routing_number,
                            bank_account_last4, bank_account_ciphertext, bank_account_key_id, card_token,
                            card_brand, card_last4, card_exp_month, card_exp_year, check_number,
                            money_order_serial, payable_to, created_at, actor)
      select r.id, r.status, r.channel, r.method, r.amount_cents, r.received_at, r.member_id, r.enrollment_id,
             r.guest, r.target, r.credited_cents, r.unapplied_cents, r.bank_routing_number,
             r.bank_account_last4, r.bank_account_ciphertext, r.bank_account_key_id, r.card_token,
             r.card_brand, r.card_last4, r.card_exp_month, r.card_exp_year, r.check_number,
             r.money_order_serial, r.payable_to, r.created_at, r.actor
      from jsonb_array_elements(p) with ordinality x(v, n),
           jsonb_populate_record(null::payments, x.v->'payment') r
      order by x.n;

      insert into payment_applications (payment_id, invoice_id, amount_cents, applied_at)
      select x.v->'payment'->>'id', a.invoice_id, a.amount_cents, a.applied_at
      from jsonb_array_elements(p) with ordinality x(v, n),
           jsonb_array_elements(x.v->'applications') with ordinality y(w, m),
           jsonb_to_record(y.w) a(invoice_id text, amount_cents bigint, applied_at timestamptz)
      order by x.n, y.m;

      for change in
        select c.* from jsonb_array_elements(p) with ordinality x(v, n),
                        jsonb_array_elements(x.v->'invoices') with ordinality y(w, m),
                        jsonb_to_record(y.w) c(id text, paid_delta_cents bigint, coverage_month date, due_date date)
        order by x.n, y.m
      loop
        update invoices i
        set amount_paid_cents = i.amount_paid_cents + change.paid_delta_cents,
            coverage_month = coalesce(change.coverage_month, i.coverage_month),
            due_date = coalesce(change.due_date, i.due_date)
        where i.id = change.id;
      end loop;

      for change in
        select c.* from jsonb_array_elements(p) with ordinality x(v, n),
                        jsonb_to_record(x.v->'enrollment') c(id text, status text, coverage_start date,
                                                             paid_in_full_at timestamptz, confirmation_expected_by date,
                                                             id_card_expected_by date, credit_delta_cents bigint,
                                                             updated_at timestamptz)
        where jsonb_typeof(x.v->'enrollment') = 'object'
        order by x.n
      loop
        update enrollments e
        set status = coalesce(change.status, e.status),
            coverage_start = coalesce(change.coverage_start, e.coverage_start),
            paid_in_full_at = coalesce(change.paid_in_full_at, e.paid_in_full_at),
            confirmation_expected_by = coalesce(change.confirmation_expected_by, e.confirmation_expected_by),
            id_card_expected_by = coalesce(change.id_card_expected_by, e.id_card_expected_by),
            credit_cents = e.credit_cents + change.credit_delta_cents,
            updated_at = change.updated_at
        where e.id = change.id;
      end loop;

      insert into enrollment_history (enrollment_id, at, type, from_value, to_value, reason, actor)
      select h.enrollment_id, h.at, h.type, h.from_value, h.to_value, h.reason, h.actor
      from jsonb_array_elements(p) with ordinality x(v, n),
           jsonb_array_elements(x.v->'history') with ordinality y(w, m),
           jsonb_to_record(y.w) h(enrollment_id text, at timestamptz, type text, from_value text, to_value text,
                                  reason text, actor text)
      order by x.n, y.m;

      insert into events (type, occurred_at, carrier_id, member_id, enrollment_id, invoice_id, payment_id, data)
      select ev.type, ev.occurred_at, ev.carrier_id, ev.member_id, ev.enrollment_id, ev.invoice_id, ev.payment_id,
             ev.data
      from jsonb_array_elements(p) with ordinality x(v, n),
           jsonb_array_elements(x.v->'events') with ordinality y(w, m),
           jsonb_to_record(y.w) ev(type text, occurred_at timestamptz, carrier_id text, member_id text,
                                   enrollment_id text, invoice_id text, payment_id text, data jsonb)
      order by x.n, y.m;
    end
    $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function payment_write_many(jsonb)`.execute(db);
  await db.schema.dropTable('lockbox_deposits').execute();
}
