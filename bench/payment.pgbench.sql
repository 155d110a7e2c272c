-- The SQL work of one online payment that completes a binder, as pgbench runs it (baseline for
-- the payment-posting scenario): idempotency record, enrollment lock, payment, application,
-- invoice update, enrollment transition, two events, one transaction.
\set g random(1, :n)
BEGIN;
SELECT pg_try_advisory_xact_lock(hashtextextended('bench:' || :client_id || ':' || :g, 7301));
SELECT id, member_id FROM enrollments WHERE seq = :g FOR UPDATE \gset e_
SELECT id AS inv FROM invoices WHERE enrollment_id = :e_id AND is_binder FOR UPDATE \gset
INSERT INTO payments (status, channel, method, amount_cents, received_at, member_id, enrollment_id, target, created_at, actor)
  VALUES ('received', 'online', 'checking', 1, now(), :e_member_id, :e_id, '{}', now(), 'pgbench') RETURNING id AS pay \gset
INSERT INTO payment_applications (payment_id, invoice_id, amount_cents, applied_at) VALUES (:pay, :inv, 1, now());
UPDATE invoices SET amount_paid_cents = amount_paid_cents + 1 WHERE id = :inv;
UPDATE enrollments SET updated_at = now() WHERE id = :e_id;
INSERT INTO enrollment_history (enrollment_id, at, type, from_value, to_value, reason, actor)
  VALUES (:e_id, now(), 'status_changed', 'pending_payment', 'pending_payment', 'pgbench', 'pgbench');
INSERT INTO events (type, occurred_at, enrollment_id, payment_id, data) VALUES ('payment.received', now(), :e_id, :pay, '{}');
INSERT INTO events (type, occurred_at, enrollment_id, payment_id, data) VALUES ('bench.transition', now(), :e_id, :pay, '{}');
INSERT INTO idempotency_keys (api_key_id, key, request_hash, response_status, response_body)
  VALUES ('pgbench', gen_random_uuid()::text, '\x00', 201, '{}');
COMMIT;
