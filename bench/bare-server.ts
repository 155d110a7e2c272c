/**
 * Baselines for the bench: a bare Fastify on this machine (hello world) and bare Fastify + pg routes
 * that run one indexed SELECT of the same rows the service's polling endpoints read.
 */
import Fastify from 'fastify';
import pg from 'pg';

const [url, portText] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, max: 20 });
const app = Fastify({ logger: false });

app.get('/hello', async () => ({ hello: 'world' }));

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

await app.listen({ port: Number(portText), host: '127.0.0.1' });
process.stdout.write('ready\n');
const stop = async () => {
  await app.close();
  await pool.end();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
