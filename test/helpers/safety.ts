/**
 * Helpers for the payment safety tests (concurrency, canary data safety, money invariants).
 * They talk to the API over `inject` or real HTTP, and read the database directly to check what was
 * stored; none of them trusts src/ for the checks themselves.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import type { TestContext } from './app.js';
import { returnPayment, VALID_ROUTING } from './payments.js';

export const [ROUTING_A, ROUTING_B] = VALID_ROUTING;

/**
 * A fresh Idempotency-Key: a UUID, as the API recommends. (`prefix` is kept for readability of the
 * callers only: a key such as `k-<pid>-<epoch ms>-<n>` is a run of up to 19 digits joined by dashes,
 * a card number by SPEC's definition one time in ten, and is refused by the card screen.)
 */
export function idemKey(_prefix = 'k'): string {
  return randomUUID();
}

/** POST /v1/payments/{id}/returns through inject. */
export function postReturn(
  ctx: TestContext,
  paymentId: string,
  reasonCode: string,
  opts: { idempotencyKey?: string; key?: string } = {},
): Promise<LightMyRequestResponse> {
  return returnPayment(ctx, paymentId, { reasonCode }, opts);
}

/** Starts the app on an ephemeral port of 127.0.0.1 (closed by testApp's teardown) and returns its base URL. */
export async function listen(ctx: TestContext): Promise<string> {
  await ctx.app.listen({ port: 0, host: '127.0.0.1' });
  const address = ctx.app.server.address();
  if (!address || typeof address === 'string') throw new Error(`unexpected server address ${String(address)}`);
  return `http://127.0.0.1:${address.port}`;
}

/**
 * POST /v1/payments over real HTTP (fetch) with a fresh Idempotency-Key; a dropped connection rejects,
 * as fetch does (use `http` to get status 0 instead).
 */
export function fetchPayment(port: number, secret: string, body: Record<string, unknown>): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/v1/payments`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${secret}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify(body),
  });
}

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
  /** Milliseconds from sending to the end of the response (or the failure). */
  ms: number;
}

/** One real HTTP request (fetch): requests fired together really overlap on the server. */
export async function http(
  base: string,
  secret: string,
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  let res: Response;
  let text: string;
  const started = Date.now();
  try {
    res = await fetch(`${base}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${secret}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    text = await res.text();
  } catch (err) {
    // The server dropped the connection (e.g. its request timeout): status 0, so tests can assert on it.
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const message = `${(err as Error).message}${cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''}`;
    return {
      status: 0,
      headers: new Headers(),
      text: message,
      json: { code: 'connection_failed', detail: message },
      ms: Date.now() - started,
    };
  }
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, text, json, ms: Date.now() - started };
}

/** A pino destination that keeps every line in memory. */
export function memoryStream() {
  const chunks: string[] = [];
  return {
    stream: {
      write(chunk: string) {
        chunks.push(chunk);
      },
    },
    text: () => chunks.join(''),
    lines: () => chunks.length,
  };
}

/** Non-overlapping occurrences of `needle` in `haystack`. */
export function occurrences(haystack: string, needle: string): number {
  if (!needle) return 0;
  let n = 0;
  let from = 0;
  for (;;) {
    const i = haystack.indexOf(needle, from);
    if (i < 0) return n;
    n++;
    from = i + needle.length;
  }
}

/** A security code next to a field name that says what it is (`"cvv":"737"`, `cvc=737`, `security_code: 737`). */
export function securityCodeIn(text: string, code: string): number {
  const re = new RegExp(`(cvv|cvc|cvv2|security[_ -]?code|securityCode)["'\\\\\\s:=]*${code}`, 'gi');
  return (text.match(re) ?? []).length;
}

export async function currentDatabase(ctx: TestContext): Promise<string> {
  const r = await sql<{ name: string }>`select current_database() as name`.execute(ctx.database.db);
  const name = r.rows[0]?.name;
  if (!name) throw new Error('no current database');
  return name;
}

/**
 * A separate connection to the test's database (not the app's pool) that can hold locks for as long
 * as a test likes; its errors are ignored and it is closed with `t`.
 */
export async function separateSession(ctx: TestContext, t: { teardown(fn: () => unknown): void }): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: `${process.env.TEST_DATABASE_SERVER_URL}/${await currentDatabase(ctx)}`,
  });
  client.on('error', () => {});
  await client.connect();
  t.teardown(() => client.end().catch(() => {}));
  return client;
}

/** The pg_dump binary: on PATH, else the newest under /usr/lib/postgresql/<version>/bin. */
export function findPgDump(): string | null {
  try {
    execFileSync('pg_dump', ['--version'], { stdio: 'pipe' });
    return 'pg_dump';
  } catch {
    // not on PATH
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'pg_dump')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin', 'pg_dump') : null;
}

/**
 * Everything the database holds, as text: a full `pg_dump` (schema and data) of the test database,
 * or, when pg_dump is missing or refuses (e.g. a server newer than the client), every row of every
 * table in schema public selected as JSON (bytea as hex, as pg_dump would show it).
 */
export async function dumpDatabase(ctx: TestContext): Promise<{ via: 'pg_dump' | 'select'; text: string }> {
  const name = await currentDatabase(ctx);
  const server = process.env.TEST_DATABASE_SERVER_URL;
  const bin = findPgDump();
  if (server && bin) {
    try {
      const text = execFileSync(bin, ['--no-owner', '--no-privileges', `--dbname=${server}/${name}`], {
        encoding: 'utf8',
        maxBuffer: 512 * 1024 * 1024,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      if (text.includes('PostgreSQL database dump')) return { via: 'pg_dump', text };
    } catch {
      // fall back to selecting every table below
    }
  }
  const tables = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name
  `.execute(ctx.database.db);
  const parts: string[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table_name)}`.execute(ctx.database.db);
    parts.push(`-- ${table_name}`);
    for (const row of rows.rows) {
      parts.push(
        JSON.stringify(row, (_k, v) =>
          v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer'
            ? `\\x${Buffer.from((v as { data: number[] }).data).toString('hex')}`
            : v,
        ),
      );
    }
  }
  return { via: 'select', text: parts.join('\n') };
}

/**
 * The money invariants of payments, invoices and enrollments, checked in SQL over the rows of
 * `memberIds` (or the whole database). Returns one line per violation; empty means all hold.
 */
export async function moneyViolations(ctx: TestContext, memberIds?: string[]): Promise<string[]> {
  const db = ctx.database.db;
  const scope = (column: string) =>
    memberIds && memberIds.length > 0 ? sql`${sql.ref(column)} = any(${sql.val(memberIds)}::text[])` : sql`true`;
  const out: string[] = [];

  // 1. An invoice's paid amount is exactly its credit plus the active applications of payments to it.
  const inv = await sql<{
    id: string;
    invoice_number: string;
    amount_due_cents: number;
    amount_paid_cents: number;
    credit_applied_cents: number;
    applied: number;
    voided: boolean;
  }>`
    select i.id, i.invoice_number, i.amount_due_cents, i.amount_paid_cents, i.credit_applied_cents,
           coalesce((select sum(pa.amount_cents) from payment_applications pa
                     where pa.invoice_id = i.id and pa.reversed_at is null), 0)::int8 as applied,
           i.voided_at is not null as voided
    from invoices i where ${scope('i.member_id')} order by i.seq
  `.execute(db);
  for (const i of inv.rows) {
    if (i.amount_paid_cents !== i.credit_applied_cents + i.applied) {
      out.push(
        `invoice ${i.invoice_number}: amount_paid_cents ${i.amount_paid_cents} != credit_applied_cents ${i.credit_applied_cents} + active applications ${i.applied}`,
      );
    }
    if (i.amount_paid_cents > i.amount_due_cents) {
      out.push(
        `invoice ${i.invoice_number}: amount_paid_cents ${i.amount_paid_cents} > amount_due_cents ${i.amount_due_cents}`,
      );
    }
    if (i.amount_paid_cents < 0 || i.credit_applied_cents < 0) {
      out.push(
        `invoice ${i.invoice_number}: negative amounts (paid ${i.amount_paid_cents}, credit ${i.credit_applied_cents})`,
      );
    }
  }

  // 2. A payment's amount is accounted for: active applications + credit + unapplied (unless returned).
  const pays = await sql<{
    id: string;
    status: string;
    amount_cents: number;
    credited_cents: number;
    unapplied_cents: number;
    applied: number;
    active_apps: number;
  }>`
    select p.id, p.status, p.amount_cents, p.credited_cents, p.unapplied_cents,
           coalesce((select sum(pa.amount_cents) from payment_applications pa
                     where pa.payment_id = p.id and pa.reversed_at is null), 0)::int8 as applied,
           (select count(*) from payment_applications pa
             where pa.payment_id = p.id and pa.reversed_at is null)::int as active_apps
    from payments p
    where ${memberIds && memberIds.length > 0 ? sql`(${scope('p.member_id')} or p.enrollment_id in (select id from enrollments where ${scope('member_id')}))` : sql`true`}
    order by p.seq
  `.execute(db);
  for (const p of pays.rows) {
    if (p.status === 'returned') {
      if (p.active_apps > 0) out.push(`payment ${p.id}: returned but ${p.active_apps} applications are still active`);
      continue;
    }
    if (p.amount_cents !== p.applied + p.credited_cents + p.unapplied_cents) {
      out.push(
        `payment ${p.id} (${p.status}): amount_cents ${p.amount_cents} != active applications ${p.applied} + credited_cents ${p.credited_cents} + unapplied_cents ${p.unapplied_cents}`,
      );
    }
    if (p.status === 'unapplied' && p.applied > 0) out.push(`payment ${p.id}: unapplied but has applications`);
  }

  // 3. Enrollments: credit never negative; status agrees with the binder (never-confirmed, not cancelled);
  //    credit and paid amounts are backed by money actually received (and not returned).
  const ens = await sql<{
    id: string;
    status: string;
    confirmed_at: Date | null;
    credit_cents: number;
    binder_status: string | null;
    binders: number;
    received: number;
    paid_on_live_invoices: number;
  }>`
    select e.id, e.status, e.confirmed_at, e.credit_cents,
           (select i.status from invoices i where i.enrollment_id = e.id and i.is_binder limit 1) as binder_status,
           (select count(*) from invoices i where i.enrollment_id = e.id and i.is_binder)::int as binders,
           coalesce((select sum(p.amount_cents - p.unapplied_cents) from payments p
                     where p.enrollment_id = e.id and p.status = 'received'), 0)::int8 as received,
           coalesce((select sum(i.amount_paid_cents) from invoices i
                     where i.enrollment_id = e.id and i.voided_at is null), 0)::int8 as paid_on_live_invoices
    from enrollments e where ${scope('e.member_id')} order by e.seq
  `.execute(db);
  for (const e of ens.rows) {
    if (e.credit_cents < 0) out.push(`enrollment ${e.id}: credit_cents ${e.credit_cents} < 0`);
    if (e.binders !== 1) out.push(`enrollment ${e.id}: ${e.binders} binder invoices`);
    if (e.status !== 'cancelled' && e.confirmed_at === null) {
      const binderPaid = e.binder_status === 'paid';
      if ((e.status === 'pending_payment') === binderPaid) {
        out.push(`enrollment ${e.id}: status ${e.status} but binder invoice is ${e.binder_status}`);
      }
      if (e.status !== 'pending_payment' && e.status !== 'awaiting_confirmation') {
        out.push(`enrollment ${e.id}: never confirmed but status ${e.status}`);
      }
    }
    // Every cent paid on a live invoice or held as credit came from a received (not returned) payment.
    if (e.received !== e.paid_on_live_invoices + e.credit_cents) {
      out.push(
        `enrollment ${e.id} (${e.status}): money received and not returned ${e.received} != paid on non-void invoices ${e.paid_on_live_invoices} + credit_cents ${e.credit_cents}`,
      );
    }
  }
  return out;
}
