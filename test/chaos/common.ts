/** Shared plumbing for the chaos checks: a fresh database, a seeded set of enrollments, the service as a child process. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { createDatabase } from '../../src/infra/db.js';
import { migrateToLatest } from '../../src/infra/migrate.js';
import { admin, serverOf } from '../helpers/serverAdmin.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const OPS = `chaos-ops-${randomBytes(12).toString('hex')}`;
const ENCRYPTION = `chaos:${randomBytes(32).toString('base64')}`;
const HMAC_KEY = Buffer.alloc(32, 9).toString('base64');

/** A fresh, migrated database with `n` pending enrollments (premium 45,000 each); returns their ids. */
export async function freshDatabase(
  name: string,
  n: number,
  base = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test',
): Promise<{ url: string; enrollmentIds: string[]; drop: () => Promise<void> }> {
  const { server, adminDb } = serverOf(base);
  await admin(`${server}/${adminDb}`, `drop database if exists ${name} with (force)`);
  await admin(`${server}/${adminDb}`, `create database ${name}`);
  const url = `${server}/${name}`;
  const database = createDatabase(url, pino({ level: 'silent' }), 2);
  await migrateToLatest(database.db);
  await database.close();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`insert into carriers (id, name, name_key) values ('chaos', 'Chaos Carrier', 'chaos carrier')`);
  await c.query(
    `insert into accounts (member_id, first_name, last_name, address_line1, city, state, postal_code)
     select (200000000000 + g)::text, 'F' || g, 'L' || g, '1 Main St', 'Boston', 'MA', '02108' from generate_series(1, $1::int) g`,
    [n],
  );
  await c.query(
    `insert into enrollments (member_id, carrier_id, coverage_type, plan_name, monthly_premium_cents, status,
                              chosen_coverage_start, coverage_start, selected_at)
     select (200000000000 + g)::text, 'chaos', 'health', 'Plan', 45000, 'pending_payment', '2030-01-01', '2030-01-01', now()
     from generate_series(1, $1::int) g`,
    [n],
  );
  await c.query(
    `insert into invoices (enrollment_id, member_id, coverage_month, due_date, amount_due_cents, is_binder, delivery, issued_at)
     select id, member_id, '2030-01-01', '2029-12-23', 45000, true, 'mail', now() from enrollments`,
  );
  const ids = (await c.query('select id from enrollments order by seq')).rows.map((r) => r.id as string);
  await c.end();
  return {
    url,
    enrollmentIds: ids,
    drop: () => admin(`${server}/${adminDb}`, `drop database if exists ${name} with (force)`).then(() => {}),
  };
}

export interface Service {
  child: ChildProcess;
  base: string;
  exited: Promise<number | null>;
}

/**
 * A port nothing listens on now, chosen by the kernel. A random pick in 40000-43999 could fall on an
 * ephemeral port another connection held (Linux hands them out from 32768), and the service then
 * failed to listen and the check waited 30 s for nothing.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts the built service (run `npm run build` first) and waits until it is ready; `log` takes its stderr. */
export async function startService(
  databaseUrl: string,
  port: number,
  env: Record<string, string> = {},
  log?: NodeJS.WritableStream,
): Promise<Service> {
  const child = spawn(process.execPath, ['dist/src/server.js'], {
    cwd: ROOT,
    stdio: ['ignore', log ? 'pipe' : 'ignore', 'pipe'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      BOOTSTRAP_OPS_KEY: OPS,
      DATA_ENCRYPTION_KEY: ENCRYPTION,
      // The same key at every start: a retry after a restart must still match its fingerprint.
      IDEMPOTENCY_HMAC_KEY: HMAC_KEY,
      // R35: production needs the Nacha identifiers (test values).
      ACH_IMMEDIATE_DESTINATION: '011000015',
      ACH_IMMEDIATE_DESTINATION_NAME: 'TEST ODFI',
      ACH_IMMEDIATE_ORIGIN: '1000000000',
      ACH_IMMEDIATE_ORIGIN_NAME: 'HEALTH CONNECTOR',
      ACH_COMPANY_ID: '1000000000',
      RATE_LIMIT_PER_MINUTE: '10000000',
      DEADLINE_SWEEP_INTERVAL_MS: '0',
      ...env,
    },
  });
  if (log) {
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
  } else if (process.env.CHAOS_VERBOSE) child.stderr?.pipe(process.stderr);
  else child.stderr?.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  const end = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${base}/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error('service did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, base, exited };
}

export function paymentBody(enrollmentId: string, amountCents: number) {
  return JSON.stringify({
    channel: 'online',
    method: 'checking',
    amountCents,
    enrollmentId,
    bankAccount: { routingNumber: '011000015', accountNumber: '123456789' },
  });
}
