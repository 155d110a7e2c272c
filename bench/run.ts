/**
 * `npm run bench`: the performance harness (see docs/performance.md).
 * Starts the built service against a real PostgreSQL (DATABASE_URL, else embedded), seeds realistic
 * volume, runs each scenario twice with autocannon, and prints median req/s, p50/p99 latency and the
 * ratio to a baseline measured in the same run. `--smoke` runs a seconds-long version (for CI) that
 * checks the harness works, not a speed. `--write` also rewrites docs/performance.md.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import pino from 'pino';
import { businessDateOf } from '../src/domain/dates.js';
import { earliestCoverageStart, paymentDueDate } from '../src/domain/deadlines.js';
import { createDatabase } from '../src/infra/db.js';
import { migrateToLatest } from '../src/infra/migrate.js';
import { encodePosition } from '../src/store/feed.js';
import { admin, serverOf } from '../test/helpers/serverAdmin.js';
import { seedWorkQueue } from './benchDatabase.js';

const smoke = process.argv.includes('--smoke');
const write = process.argv.includes('--write');
// `--only=payments,polling` runs some scenario groups (reads, polling, payments, billing) while iterating.
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const want = (group: 'reads' | 'polling' | 'payments' | 'billing' | 'sweep') => !only || only.includes(group);
if (only && write) throw new Error('--write needs the full run (no --only)');
const ROOT = path.resolve(import.meta.dirname, '..');
// Smoke runs seed enough pending binders for four one-second payment runs on a quiet machine too.
const N = smoke ? 20_000 : 200_000;
const DURATION = smoke ? 1 : 8;
const DB = `billing_perf_${process.pid}`;
const OPS = `bench-ops-${randomBytes(12).toString('hex')}`;

interface Figure {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}
interface Row {
  scenario: string;
  figure: string;
  baseline: string;
  ratio: string;
  target?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function waitFor(url: string, ms = 60_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${url}`);
}

async function cannon(opts: autocannon.Options): Promise<Figure> {
  const r = await autocannon({ duration: DURATION, ...opts });
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
  };
}

/** Runs a scenario twice and keeps the medians. */
async function twice(run: () => Promise<Figure>): Promise<Figure> {
  const a = await run();
  const b = await run();
  return {
    rps: median([a.rps, b.rps]),
    p50: median([a.p50, b.p50]),
    p99: median([a.p99, b.p99]),
    errors: a.errors + b.errors,
  };
}

/**
 * pgbench with prepared statements at `connections` clients, run twice: median TPS, and the p50/p99 of
 * every transaction's latency over both runs (from pgbench's per-transaction log).
 */
function pgbench(db: string, script: string, connections: number, vars: string[] = []): Figure {
  const tps: number[] = [];
  const latencies: number[] = [];
  let errors = 0;
  for (let i = 0; i < 2; i++) {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-pgbench-'));
    try {
      const out = execFileSync(
        'pgbench',
        [
          '-n',
          '-M',
          'prepared',
          '-c',
          String(connections),
          '-j',
          '2',
          '-T',
          String(DURATION),
          ...vars.flatMap((v) => ['-D', v]),
          '-l',
          '--log-prefix',
          path.join(dir, 'tx'),
          '-f',
          script,
          db,
        ],
        { encoding: 'utf8', cwd: dir, env: { ...process.env, PGCONNECT_TIMEOUT: '10' } },
      );
      tps.push(Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1] ?? 0));
      errors += Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0);
      for (const f of readdirSync(dir)) {
        for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
          const us = Number(line.split(' ')[2]);
          if (line && Number.isFinite(us)) latencies.push(us / 1000);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    Number((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(1));
  return { rps: median(tps), p50: at(0.5), p99: at(0.99), errors };
}

const fmt = (f: Figure) =>
  `${f.rps.toFixed(0)} req/s, p50 ${f.p50} ms, p99 ${f.p99} ms${f.errors ? `, ${f.errors} errors` : ''}`;

// --- database -----------------------------------------------------------------------------------
let serverUrl: string;
let adminDb = 'postgres';
let stopEmbedded: (() => Promise<void>) | undefined;
if (process.env.DATABASE_URL) {
  ({ server: serverUrl, adminDb } = serverOf(process.env.DATABASE_URL));
} else {
  const { startEmbeddedPostgres } = await import('../src/infra/embedded.js');
  const embedded = await startEmbeddedPostgres({ dataDir: path.join(ROOT, '.data/pg-bench'), port: 54331 });
  serverUrl = embedded.serverUrl;
  stopEmbedded = embedded.stop;
}
const dbUrl = `${serverUrl}/${DB}`;
// The physical anchor for payment posting (bench/anchor/, a copy of ../shared/perf/): its own schema
// in its own database, run by pgbench in the same run as the service's payments.
const ANCHOR_DB = `${DB}_anchor`;
const hasPgbench = (() => {
  try {
    execFileSync('pgbench', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const children: ChildProcess[] = [];
// The machine is shared: the load average at the start and end of the run goes with the figures.
const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' / ');
const loadAtStart = load();
const rows: Row[] = [];

try {
  await admin(`${serverUrl}/${adminDb}`, `create database ${DB}`);
  if (want('payments') && hasPgbench) {
    await admin(`${serverUrl}/${adminDb}`, `create database ${ANCHOR_DB}`);
    execFileSync(
      'psql',
      [
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '-f',
        path.join(ROOT, 'bench/anchor/anchor-schema.sql'),
        `${serverUrl}/${ANCHOR_DB}`,
      ],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, PGOPTIONS: '-c client_min_messages=warning' },
      },
    );
  }
  const database = createDatabase(dbUrl, pino({ level: 'silent' }), 2);
  await migrateToLatest(database.db);
  const start = earliestCoverageStart(businessDateOf(new Date()));
  const seedStarted = performance.now();
  const seed = new pg.Client({ connectionString: dbUrl });
  seed.on('error', () => {});
  await seed.connect();
  await seedWorkQueue(seed, N, start, paymentDueDate(start), { idleCarrier: true });
  const seedSeconds = (performance.now() - seedStarted) / 1000;

  // --- processes ----------------------------------------------------------------------------------
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const port = 39_000 + Math.floor(Math.random() * 1000);
  // BENCH_SERVICE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the service under the bench.
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const service = spawn(process.execPath, [...nodeArgs, 'dist/src/server.js'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: dbUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      BOOTSTRAP_OPS_KEY: OPS,
      DATA_ENCRYPTION_KEY: `bench:${randomBytes(32).toString('base64')}`,
      IDEMPOTENCY_HMAC_KEY: randomBytes(32).toString('base64'),
      // R35: production needs the Nacha identifiers (test values).
      ACH_IMMEDIATE_DESTINATION: '011000015',
      ACH_IMMEDIATE_DESTINATION_NAME: 'TEST ODFI',
      ACH_IMMEDIATE_ORIGIN: '1000000000',
      ACH_IMMEDIATE_ORIGIN_NAME: 'HEALTH CONNECTOR',
      ACH_COMPANY_ID: '1000000000',
      RATE_LIMIT_PER_MINUTE: '10000000',
      DEADLINE_SWEEP_INTERVAL_MS: '0',
      DATABASE_POOL_SIZE: '20',
    },
  });
  children.push(service);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/ready`);
  const barePort = port + 1;
  const bare = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/bare-server.ts',
      dbUrl,
      String(barePort),
      ...(want('payments') && hasPgbench ? [`${serverUrl}/${ANCHOR_DB}`] : []),
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  children.push(bare);
  const bareBase = `http://127.0.0.1:${barePort}`;
  await waitFor(`${bareBase}/hello`);

  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${base}${url}`, {
      method,
      headers: { authorization: `Bearer ${OPS}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return res.json() as Promise<Record<string, unknown>>;
  };
  const carrierKey = (await api('POST', '/v1/api-keys', { role: 'carrier', carrierId: 'carrier-1', name: 'bench' }))
    .secret as string;
  const connectorKey = (await api('POST', '/v1/api-keys', { role: 'connector', name: 'bench' })).secret as string;
  const auth = (key: string) => ({ authorization: `Bearer ${key}` });

  // --- reads --------------------------------------------------------------------------------------
  const sample =
    await seed.query(`select e.id, i.id as invoice from enrollments e join invoices i on i.enrollment_id = e.id
                                   where e.seq % 97 = 0 limit 500`);
  let k = 0;
  const pick = () => sample.rows[k++ % sample.rows.length];
  const hello = await twice(() => cannon({ url: `${bareBase}/hello`, connections: 50 }));
  rows.push({ scenario: 'baseline: Fastify hello world, 50 conns', figure: fmt(hello), baseline: '-', ratio: '-' });
  for (const [name, route, bareRoute] of !want('reads')
    ? []
    : ([
        [
          'GET /v1/enrollments/{id}',
          (r: { id: string }) => `/v1/enrollments/${r.id}`,
          (r: { id: string }) => `/enrollments/${r.id}`,
        ],
        [
          'GET /v1/invoices/{id}',
          (r: { invoice: string }) => `/v1/invoices/${r.invoice}`,
          (r: { invoice: string }) => `/invoices/${r.invoice}`,
        ],
      ] as const)) {
    const byId = (url: string, headers: Record<string, string>, to: (r: { id: string; invoice: string }) => string) =>
      twice(() =>
        cannon({
          url,
          connections: 50,
          headers,
          requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: to(pick()) }) }],
        }),
      );
    const f = await byId(base, auth(connectorKey), route);
    const b = await byId(bareBase, {}, bareRoute);
    const ratio = f.rps / b.rps;
    rows.push({
      scenario: `${name}, 50 conns`,
      figure: fmt(f),
      baseline: `bare Fastify + pg, same row in one query: ${fmt(b)} (hello world ${(f.rps / hello.rps).toFixed(2)})`,
      ratio: ratio.toFixed(2),
      target: `>= 0.5: ${ratio >= 0.5 ? 'met' : 'not met'}`,
    });
  }

  // --- carrier polling ----------------------------------------------------------------------------
  // An idle carrier (no enrollments) polls from the start of the feed: first with no events in the
  // table, then behind FOREIGN events of other carriers (R27: its poll costs the same).
  const idleKey = (
    await api('POST', '/v1/api-keys', { role: 'carrier', carrierId: 'carrier-idle', name: 'bench idle' })
  ).secret as string;
  const idlePoll = () => twice(() => cannon({ url: `${base}/v1/events`, connections: 50, headers: auth(idleKey) }));
  if (want('polling')) await cannon({ url: `${base}/v1/events`, connections: 50, headers: auth(idleKey) }); // warm-up
  const idleEmpty = want('polling') ? await idlePoll() : undefined;
  const FOREIGN = smoke ? 20_000 : 1_000_000;
  await seed.query(
    `insert into events (type, occurred_at, carrier_id, member_id, enrollment_id, data)
     select 'enrollment.awaiting_confirmation', now(), carrier_id, member_id, id,
            jsonb_build_object('enrollmentId', id, 'memberId', member_id, 'carrierId', carrier_id)
     from enrollments where status = 'awaiting_confirmation' order by seq`,
  );
  if (want('polling')) {
    // Other carriers' events of every kind, written by 100 transactions as a busy month would.
    for (let b = 0; b < 100; b++) {
      await seed.query(
        `insert into events (type, occurred_at, carrier_id, member_id, enrollment_id, data)
         select (array['invoice.issued', 'payment.received', 'enrollment.created', 'enrollment.confirmed'])[1 + g % 4],
                now(), 'carrier-' || (1 + g % 5), (100000000000 + g)::text, 'enr_foreign_' || g, '{}'
         from generate_series(1, $1::int) g`,
        [FOREIGN / 100],
      );
    }
  }
  await seed.query('vacuum analyze events');
  if (idleEmpty) {
    const idleFull = await idlePoll();
    rows.push({
      scenario: 'idle carrier poll GET /v1/events (from the start), empty events table, 50 conns',
      figure: fmt(idleEmpty),
      baseline: '-',
      ratio: '-',
    });
    const rps = idleFull.rps / idleEmpty.rps;
    rows.push({
      scenario: `idle carrier poll GET /v1/events (from the start), behind ${FOREIGN.toLocaleString('en-US')} other carriers' events, 50 conns`,
      figure: fmt(idleFull),
      baseline: `empty table: ${fmt(idleEmpty)}`,
      ratio: `req/s ${rps.toFixed(2)}, p50 ${(idleFull.p50 / idleEmpty.p50).toFixed(2)}`,
      target: `req/s >= 0.8 of the empty table's: ${rps >= 0.8 ? 'met' : 'not met'}`,
    });
  }
  const lastEvent = await seed.query(
    `select e.tx::text as tx, e.id from events e where e.carrier_id = 'carrier-1' order by e.tx desc, e.id desc limit 1`,
  );
  const endCursor = encodePosition({ tx: lastEvent.rows[0].tx, id: Number(lastEvent.rows[0].id) });
  const polls = [
    {
      name: 'empty poll GET /v1/events?after=<end>',
      path: `/v1/events?after=${endCursor}`,
      bare: `/events?carrier=carrier-1&tx=${lastEvent.rows[0].tx}&id=${lastEvent.rows[0].id}`,
      target: 0.5,
    },
    {
      name: '100-row page GET /v1/events',
      path: '/v1/events?limit=100',
      bare: '/events?carrier=carrier-1&tx=0&id=0',
      target: 0.5,
    },
    {
      name: '100-row page GET /v1/enrollments?status=awaiting_confirmation',
      path: '/v1/enrollments?status=awaiting_confirmation&limit=100',
      bare: '/queue?carrier=carrier-1',
      target: 0.5,
    },
  ];
  for (const p of want('polling') ? polls : []) {
    const f = await twice(() => cannon({ url: `${base}${p.path}`, connections: 50, headers: auth(carrierKey) }));
    const b = await twice(() => cannon({ url: `${bareBase}${p.bare}`, connections: 50 }));
    const ratio = f.rps / b.rps;
    rows.push({
      scenario: `carrier ${p.name}, 50 conns`,
      figure: fmt(f),
      baseline: `bare Fastify + pg: ${fmt(b)}`,
      ratio: ratio.toFixed(2),
      target: `>= ${p.target}: ${ratio >= p.target ? 'met' : 'not met'}`,
    });
  }

  // --- payment posting ----------------------------------------------------------------------------
  const pending = await seed.query(`select id from enrollments where status = 'pending_payment' order by seq`);
  let next = 0;
  const paymentBody = () => {
    const row = pending.rows[next++];
    if (!row) throw new Error('bench ran out of pending enrollments: raise N');
    return JSON.stringify({
      channel: 'online',
      method: 'checking',
      amountCents: 45000,
      enrollmentId: row.id,
      bankAccount: { routingNumber: '011000015', accountNumber: '123456789' },
    });
  };
  for (const connections of want('payments') ? [10, 50] : []) {
    const f = await twice(() =>
      cannon({
        url: base,
        connections,
        headers: { ...auth(connectorKey), 'content-type': 'application/json' },
        requests: [
          {
            method: 'POST',
            path: '/v1/payments',
            setupRequest: (req) => ({
              ...req,
              body: paymentBody(),
              headers: { ...req.headers, 'idempotency-key': randomUUID() },
            }),
          },
        ],
      }),
    );
    let baseline = 'pgbench not installed';
    let ratio = '-';
    let met = false;
    if (hasPgbench) {
      // The anchor's own transaction behind a bare Fastify + pg route: what any Node service doing
      // the anchor's work reaches on these cores (the service's floor, not its target).
      const bareAnchor = await twice(() =>
        cannon({
          url: bareBase,
          connections,
          headers: { 'content-type': 'application/json' },
          requests: [
            {
              method: 'POST',
              path: '/anchor-payment',
              setupRequest: (req) => ({
                ...req,
                body: JSON.stringify({
                  invoiceId: 1 + Math.floor(Math.random() * 100_000),
                  amountCents: 1000 + Math.floor(Math.random() * 19_001),
                }),
                headers: { ...req.headers, 'idempotency-key': randomUUID() },
              }),
            },
          ],
        }),
      );
      const anchor = pgbench(
        `${serverUrl}/${ANCHOR_DB}`,
        path.join(ROOT, 'bench/anchor/anchor-payment.pgbench'),
        connections,
      );
      const own = pgbench(dbUrl, path.join(ROOT, 'bench/payment.pgbench.sql'), connections, [`n=${N}`]);
      baseline = `anchor pgbench (../shared/perf): ${anchor.rps.toFixed(0)} TPS, p50 ${anchor.p50} ms, p99 ${anchor.p99} ms; our SQL in pgbench: ${own.rps.toFixed(0)} TPS (ratio ${(f.rps / own.rps).toFixed(2)}); the anchor's transaction behind bare Fastify + pg: ${fmt(bareAnchor)} (${(bareAnchor.rps / anchor.rps).toFixed(2)} of the anchor)`;
      ratio = (f.rps / anchor.rps).toFixed(2);
      met = f.rps / anchor.rps >= 0.5 && (anchor.p99 >= 25 || f.p99 < 50) && f.errors === 0;
    }
    rows.push({
      scenario: `POST /v1/payments (binder-completing), ${connections} conns`,
      figure: fmt(f),
      baseline,
      ratio,
      ...(connections === 50
        ? {
            target: `>= 0.5 of the anchor, p99 < 50 ms when the anchor's p99 < 25 ms, 0 errors: ${met ? 'met' : 'not met'}`,
          }
        : {}),
    });
  }
  await seed.end();
  await database.close();

  // --- billing run --------------------------------------------------------------------------------
  const billingN = smoke ? 2_000 : 500_000;
  const billing = !want('billing')
    ? 'skipped'
    : execFileSync(process.execPath, ['--import', 'tsx', 'bench/billing-run.ts', String(billingN)], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, DATABASE_URL: `${serverUrl}/${adminDb}` },
      });
  const med = /median ([\d.]+) s; RSS growth ([\d.]+) MB/.exec(billing);
  if (want('billing'))
    rows.push({
      scenario: `billing run over ${billingN} billable enrollments (3 months, median)`,
      figure: med ? `${med[1]} s, RSS growth ${med[2]} MB` : billing.trim(),
      baseline: '-',
      ratio: '-',
      target: med
        ? `< 20 s and < 200 MB: ${Number(med[1]) < 20 && Number(med[2]) < 200 ? 'met' : 'not met'}`
        : undefined,
    });

  // --- non-payment sweep (R29/R30) -------------------------------------------------------------------
  const sweepN = smoke ? 2_000 : 500_000;
  if (want('sweep')) {
    const sweep = execFileSync(process.execPath, ['--import', 'tsx', 'bench/nonpayment-sweep.ts', String(sweepN)], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: `${serverUrl}/${adminDb}` },
    });
    const first = /first sweep: (\d+) standings recorded in ([\d.]+) s/.exec(sweep);
    const second = /second sweep: \d+ recorded in ([\d.]+) s/.exec(sweep);
    const rss = /RSS growth ([\d.]+) MB/.exec(sweep);
    const seconds = Number(first?.[2]);
    rows.push({
      scenario: `deadline sweep over ${sweepN} binder-paid enrollments, 5% delinquent (first sweep; second)`,
      figure:
        first && second && rss
          ? `${first[2]} s for ${first[1]} standings; second ${second[1]} s; RSS growth ${rss[1]} MB`
          : sweep.trim(),
      baseline: '-',
      ratio: '-',
      target: `< 30 s and < 200 MB: ${seconds < 30 && Number(rss?.[1]) < 200 ? 'met' : 'not met'}`,
    });
  }

  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  const date = new Date().toISOString().slice(0, 10);
  const table = [
    `Seeded ${N} accounts and enrollments (${N / 4} awaiting confirmation) in ${seedSeconds.toFixed(1)} s; each figure is the median of two ${DURATION}-second runs.`,
    '',
    '| scenario | figure | baseline | ratio | target |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.scenario} | ${r.figure} | ${r.baseline} | ${r.ratio} | ${r.target ?? '-'} |`),
    '',
    `Date ${date}, commit ${commit}, ${smoke ? 'smoke run' : only ? `partial run (--only=${only.join(',')})` : 'full run'}; load average (1 / 5 / 15 min) ${loadAtStart} at the start, ${load()} at the end.`,
  ].join('\n');
  process.stdout.write(`\n${table}\n`);
  if (write && !smoke) {
    const doc = path.join(ROOT, 'docs/performance.md');
    const text = readFileSync(doc, 'utf8');
    const marker = '<!-- bench:results -->';
    const [head] = text.split(marker);
    writeFileSync(doc, `${head}${marker}\n${table}\n`);
  }
  if (rows.some((r) => r.figure.includes('NaN'))) throw new Error('a scenario produced no figure');
  process.stdout.write(`bench: ${rows.length} scenarios ran\n`);
} finally {
  for (const c of children) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  await admin(`${serverUrl}/${adminDb}`, `drop database if exists ${DB} with (force)`).catch(() => {});
  await admin(`${serverUrl}/${adminDb}`, `drop database if exists ${ANCHOR_DB} with (force)`).catch(() => {});
  await stopEmbedded?.();
}
