/**
 * Baselines for the bench: a bare Fastify on this machine (hello world) and bare Fastify + pg routes
 * that run one indexed SELECT of the same rows the service's reads (by id) and polling endpoints read.
 */
import Fastify from 'fastify';
import pg from 'pg';

const [url, portText, anchorUrl] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, max: 20 });
// The physical anchor's database (bench/anchor/), when given: the floor of a Node service running
// exactly the anchor's transaction, statement for statement, with named prepared statements.
const anchorPool = anchorUrl ? new pg.Pool({ connectionString: anchorUrl, max: 20 }) : null;
const app = Fastify({ logger: false });

app.get('/hello', async () => ({ hello: 'world' }));

// Same row as GET /v1/enrollments/{id}: the enrollment, its subscriber and its history, one query.
app.get<{ Params: { id: string } }>('/enrollments/:id', async (request, reply) => {
  const r = await pool.query(
    `select e.*, a.first_name, a.last_name,
            (select coalesce(json_agg(json_build_object('at', h.at, 'type', h.type, 'from', h.from_value,
                    'to', h.to_value, 'reason', h.reason, 'actor', h.actor) order by h.id), '[]'::json)
             from enrollment_history h where h.enrollment_id = e.id) as history
       from enrollments e join accounts a on a.member_id = e.member_id where e.id = $1`,
    [request.params.id],
  );
  return r.rows[0] ?? reply.code(404).send({ code: 'not_found' });
});

// Same row as GET /v1/invoices/{id}: the invoice with its subscriber, carrier and enrollment, one query.
app.get<{ Params: { id: string } }>('/invoices/:id', async (request, reply) => {
  const r = await pool.query(
    `select i.*, a.first_name, a.last_name, e.carrier_id, c.name as carrier_name, e.status as enrollment_status,
            e.coverage_start as enrollment_coverage_start
       from invoices i join enrollments e on e.id = i.enrollment_id join accounts a on a.member_id = i.member_id
       join carriers c on c.id = e.carrier_id where i.id = $1`,
    [request.params.id],
  );
  return r.rows[0] ?? reply.code(404).send({ code: 'not_found' });
});

// Same rows as GET /v1/events (carrier scope) after a cursor.
app.get<{ Querystring: { carrier: string; tx: string; id: string } }>('/events', async (request) => {
  const { carrier, tx, id } = request.query;
  const r = await pool.query(
    `select id, type, occurred_at, data from events
      where (case when type like 'enrollment.%' or type = 'payment.returned' then carrier_id end) = $1
        and (tx, id) > ($2::xid8, $3::int8) and tx < pg_snapshot_xmin(pg_current_snapshot())
      order by tx, id limit 100`,
    [carrier, tx, id],
  );
  return { data: r.rows };
});

// Same rows as the carrier work queue: GET /v1/enrollments?status=awaiting_confirmation&limit=100.
app.get<{ Querystring: { carrier: string } }>('/queue', async (request) => {
  const r = await pool.query(
    `select * from enrollments where carrier_id = $1 and status = 'awaiting_confirmation' order by seq limit 100`,
    [request.query.carrier],
  );
  return { data: r.rows };
});

// The anchor's payment transaction (bench/anchor/anchor-payment.pgbench) behind a bare Fastify route:
// the same statements in the same order, prepared once per connection, the Idempotency-Key from the
// header and the invoice and amount from a JSON body. What the service's payments are compared with,
// minus everything a service adds (validation, authentication, idempotency answer, history, events).
app.post<{ Body: { invoiceId: number; amountCents: number } }>('/anchor-payment', async (request, reply) => {
  if (!anchorPool) return reply.code(404).send({ code: 'no_anchor' });
  const { invoiceId, amountCents } = request.body;
  const key = request.headers['idempotency-key'] as string;
  const c = await anchorPool.connect();
  try {
    await c.query('BEGIN');
    const locked = await c.query({
      name: 'lock',
      text: 'SELECT balance_cents AS old_balance, enrollment_id FROM invoices WHERE id = $1 FOR UPDATE',
      values: [invoiceId],
    });
    const { old_balance: oldBalance, enrollment_id: enrollmentId } = locked.rows[0];
    await c.query({
      name: 'pay',
      text: 'INSERT INTO payments (invoice_id, amount_cents, idempotency_key) VALUES ($1, $2, $3)',
      values: [invoiceId, amountCents, key],
    });
    const updated = await c.query({
      name: 'invoice',
      text: `UPDATE invoices SET balance_cents = greatest(balance_cents - $2, 0),
               status = CASE WHEN balance_cents - $2 <= 0 THEN 'paid' ELSE 'partially_paid' END, updated_at = now()
             WHERE id = $1 RETURNING (status = 'paid' AND $3::bigint > 0)::int AS newly_paid`,
      values: [invoiceId, amountCents, oldBalance],
    });
    if (updated.rows[0].newly_paid === 1)
      await c.query({
        name: 'enrollment',
        text: `UPDATE enrollments SET status = 'active', updated_at = now() WHERE id = $1`,
        values: [enrollmentId],
      });
    await c.query({
      name: 'event',
      text: `INSERT INTO events (aggregate_type, aggregate_id, type, payload) VALUES ('invoice', $1, 'payment.recorded',
               jsonb_build_object('invoice_id', $1::bigint, 'amount_cents', $2::bigint, 'old_balance', $3::bigint))`,
      values: [invoiceId, amountCents, oldBalance],
    });
    await c.query('COMMIT');
    return reply.code(201).send({ invoiceId, amountCents });
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
});

await app.listen({ port: Number(portText), host: '127.0.0.1' });
process.stdout.write('ready\n');
const stop = async () => {
  await app.close();
  await pool.end();
  await anchorPool?.end();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
