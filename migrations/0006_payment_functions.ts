import { type Kysely, sql } from 'kysely';

/**
 * The payment hot path in three round trips (see docs/decisions.md, "Payments in few round trips").
 * These functions hold storage only, no business rules: the service reads a locked context, decides
 * in TypeScript (src/domain), and writes the whole decision with one call. PL/pgSQL caches the plans
 * of the statements inside, and each statement of a VOLATILE function takes a fresh snapshot, so a
 * read after a lock sees what the lock holder committed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Idempotency: the key's transaction lock, then the stored answer (read after the lock is held).
  await sql`
    create function idempotency_begin(p_api_key_id text, p_key text, p_not_before timestamptz)
    returns table (locked boolean, request_hash bytea, response_status int, response_body jsonb)
    language plpgsql volatile as $$
    begin
      if not pg_try_advisory_xact_lock(hashtextextended(p_api_key_id || ':' || p_key, 7301)) then
        return query select false, null::bytea, null::int, null::jsonb;
        return;
      end if;
      return query
        select true, k.request_hash, k.response_status, k.response_body
        from idempotency_keys k
        where k.api_key_id = p_api_key_id and k.key = p_key and k.created_at >= p_not_before;
      if not found then
        return query select true, null::bytea, null::int, null::jsonb;
      end if;
    end
    $$`.execute(db);

  // What a payment decides on: the target invoice (by number), the enrollment locked FOR NO KEY
  // UPDATE (one lock order for every money path), then its invoices, read after the lock.
  await sql`
    create function payment_context(p_enrollment_id text, p_invoice_number text) returns jsonb
    language plpgsql volatile as $$
    declare
      v_invoice jsonb;
      v_enrollment_id text := p_enrollment_id;
      v_enrollment jsonb;
      v_invoices jsonb;
    begin
      if p_invoice_number is not null then
        select jsonb_build_object('id', i.id, 'enrollment_id', i.enrollment_id, 'member_id', i.member_id,
                                  'voided', i.voided_at is not null)
          into v_invoice
          from invoices i where i.invoice_number = p_invoice_number;
        if v_invoice is null or (v_invoice->>'voided')::boolean then
          return jsonb_build_object('invoice', v_invoice);
        end if;
        v_enrollment_id := v_invoice->>'enrollment_id';
      end if;
      select to_jsonb(e) || jsonb_build_object('subscriber_first_name', a.first_name,
                                               'subscriber_last_name', a.last_name)
        into v_enrollment
        from enrollments e join accounts a on a.member_id = e.member_id
        where e.id = v_enrollment_id
        for no key update of e;
      if v_enrollment is null then
        return jsonb_build_object('invoice', v_invoice);
      end if;
      select coalesce(jsonb_agg(to_jsonb(i) order by i.coverage_month, i.seq), '[]'::jsonb)
        into v_invoices
        from (select * from invoices where enrollment_id = v_enrollment_id
              order by coverage_month for no key update) i;
      return jsonb_build_object('invoice', v_invoice, 'enrollment', v_enrollment, 'invoices', v_invoices);
    end
    $$`.execute(db);

  // The whole decision in one call: the payment (new, or an unapplied one being applied), its
  // applications, invoice and enrollment changes, history, events, and the idempotency record.
  await sql`
    create function payment_write(p jsonb) returns void language plpgsql volatile as $$
    declare
      change record;
    begin
      if p->>'mode' = 'insert' then
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
        from jsonb_populate_record(null::payments, p->'payment') r;
      else
        update payments t
        set status = r.status, unapplied_cents = r.unapplied_cents, member_id = r.member_id,
            enrollment_id = r.enrollment_id, credited_cents = r.credited_cents
        from jsonb_populate_record(null::payments, p->'payment') r
        where t.id = r.id;
      end if;

      insert into payment_applications (payment_id, invoice_id, amount_cents, applied_at)
      select p->'payment'->>'id', a.invoice_id, a.amount_cents, a.applied_at
      from jsonb_array_elements(p->'applications') with ordinality x(v, n),
           jsonb_to_record(x.v) a(invoice_id text, amount_cents bigint, applied_at timestamptz)
      order by x.n;

      -- One indexed update per changed invoice (a payment changes one to a few). A join against
      -- jsonb_to_recordset is planned for 100 rows and becomes a sequential scan of all invoices.
      for change in
        select * from jsonb_to_recordset(p->'invoices') x(id text, paid_delta_cents bigint, coverage_month date,
                                                           due_date date)
      loop
        update invoices i
        set amount_paid_cents = i.amount_paid_cents + change.paid_delta_cents,
            coverage_month = coalesce(change.coverage_month, i.coverage_month),
            due_date = coalesce(change.due_date, i.due_date)
        where i.id = change.id;
      end loop;

      if jsonb_typeof(p->'enrollment') = 'object' then
        update enrollments e
        set status = coalesce(c.status, e.status),
            coverage_start = coalesce(c.coverage_start, e.coverage_start),
            paid_in_full_at = coalesce(c.paid_in_full_at, e.paid_in_full_at),
            confirmation_expected_by = coalesce(c.confirmation_expected_by, e.confirmation_expected_by),
            id_card_expected_by = coalesce(c.id_card_expected_by, e.id_card_expected_by),
            credit_cents = e.credit_cents + c.credit_delta_cents,
            updated_at = c.updated_at
        from jsonb_to_record(p->'enrollment') c(id text, status text, coverage_start date, paid_in_full_at timestamptz,
                                                confirmation_expected_by date, id_card_expected_by date,
                                                credit_delta_cents bigint, updated_at timestamptz)
        where e.id = c.id;
      end if;

      insert into enrollment_history (enrollment_id, at, type, from_value, to_value, reason, actor)
      select h.enrollment_id, h.at, h.type, h.from_value, h.to_value, h.reason, h.actor
      from jsonb_array_elements(p->'history') with ordinality x(v, n),
           jsonb_to_record(x.v) h(enrollment_id text, at timestamptz, type text, from_value text, to_value text,
                                  reason text, actor text)
      order by x.n;

      insert into events (type, occurred_at, carrier_id, member_id, enrollment_id, invoice_id, payment_id, data)
      select ev.type, ev.occurred_at, ev.carrier_id, ev.member_id, ev.enrollment_id, ev.invoice_id, ev.payment_id,
             ev.data
      from jsonb_array_elements(p->'events') with ordinality x(v, n),
           jsonb_to_record(x.v) ev(type text, occurred_at timestamptz, carrier_id text, member_id text,
                                   enrollment_id text, invoice_id text, payment_id text, data jsonb)
      order by x.n;

      if jsonb_typeof(p->'idempotency') = 'object' then
        insert into idempotency_keys as k (api_key_id, key, request_hash, response_status, response_body, created_at)
        select r.api_key_id, r.key, r.request_hash, r.response_status, r.response_body, r.created_at
        from jsonb_populate_record(null::idempotency_keys, p->'idempotency') r
        on conflict (api_key_id, key) do update
          set request_hash = excluded.request_hash, response_status = excluded.response_status,
              response_body = excluded.response_body, created_at = excluded.created_at;
      end if;
    end
    $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function payment_write(jsonb)`.execute(db);
  await sql`drop function payment_context(text, text)`.execute(db);
  await sql`drop function idempotency_begin(text, text, timestamptz)`.execute(db);
}
