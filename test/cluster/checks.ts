/**
 * The checks `npm run cluster` runs through the load balancer (issue 16; docs/reliability.md). Each
 * returns its verdict and one line of figures; nginx's X-Upstream header says which instance
 * answered, so each check also shows that both instances took part.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { leaseSize } from '../../src/http/plugins/rateLimitStore.js';
import { OPS, paymentBody } from '../chaos/common.js';
import type { Cluster } from './topology.js';

export interface Verdict {
  ok: boolean;
  detail: string;
}

interface Answer {
  status: number;
  body: any;
  upstream: string;
}

export class Client {
  constructor(private readonly base: string) {}

  async call(
    method: string,
    url: string,
    opts: { key?: string; body?: unknown; raw?: string; idempotencyKey?: string; timeoutMs?: number } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { authorization: `Bearer ${opts.key ?? OPS}` };
    const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method === 'POST') headers['idempotency-key'] = opts.idempotencyKey ?? randomUUID();
    const res = await fetch(`${this.base}${url}`, {
      method,
      headers,
      body,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (nginx's own 502 page)
    }
    return { status: res.status, body: parsed, upstream: res.headers.get('x-upstream') ?? '?' };
  }

  async newKey(role: 'ops' | 'connector' | 'carrier', carrierId?: string): Promise<{ id: string; secret: string }> {
    const r = await this.call('POST', '/v1/api-keys', { body: { role, name: `cluster ${role}`, carrierId } });
    if (r.status !== 201) throw new Error(`key creation: ${r.status} ${JSON.stringify(r.body)}`);
    return { id: r.body.id, secret: r.body.secret };
  }
}

const instances = (answers: Answer[]) => new Set(answers.map((a) => a.upstream)).size;

async function query<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

/** 50 concurrent identical payments with one Idempotency-Key: one payment, every 2xx the same one. */
export async function idempotencyAcrossInstances(cluster: Cluster, client: Client): Promise<Verdict> {
  const enrollmentId = cluster.enrollmentIds[0] as string;
  const key = randomUUID();
  const raw = paymentBody(enrollmentId, 45_000);
  const answers = await Promise.all(
    Array.from({ length: 50 }, () => client.call('POST', '/v1/payments', { raw, idempotencyKey: key })),
  );
  const replay = await client.call('POST', '/v1/payments', { raw, idempotencyKey: key });
  answers.push(replay);
  const ids = new Set(answers.filter((a) => a.status === 201).map((a) => a.body.id));
  const others = answers.filter((a) => a.status !== 201);
  const inFlight = others.filter((a) => a.status === 409 && a.body?.code === 'idempotency_key_in_flight').length;
  const [{ count }] = (await query<{ count: number }>(
    cluster.primaryUrl,
    'select count(*)::int as count from payments where enrollment_id = $1',
    [enrollmentId],
  )) as [{ count: number }];
  const ok =
    count === 1 && ids.size === 1 && others.length === inFlight && replay.status === 201 && instances(answers) === 2;
  return {
    ok,
    detail: `51 requests (50 concurrent + 1 retry) over ${instances(answers)} instances: ${answers.length - others.length} answered 201 with ${ids.size} payment id, ${inFlight} 409 idempotency_key_in_flight, ${others.length - inFlight} other; payments in the database: ${count}`,
  };
}

/** A carrier polls through both instances while 40 binder payments commit: each event once, in order. */
export async function feedAcrossInstances(cluster: Cluster, client: Client): Promise<Verdict> {
  const carrier = await client.newKey('carrier', 'chaos');
  const payer = await client.newKey('ops');
  const targets = cluster.enrollmentIds.slice(1, 41);
  const seen: string[] = [];
  const pollers = new Set<string>();
  let cursor: string | undefined;
  let polls = 0;
  const poll = async () => {
    const r = await client.call('GET', `/v1/events?limit=3${cursor ? `&after=${encodeURIComponent(cursor)}` : ''}`, {
      key: carrier.secret,
    });
    if (r.status !== 200) throw new Error(`poll answered ${r.status}`);
    polls++;
    pollers.add(r.upstream);
    for (const e of r.body.data) seen.push(e.id);
    cursor = r.body.nextCursor;
    return r.body.data.length as number;
  };
  let paying = true;
  const poller = (async () => {
    while (paying) {
      await poll();
      await new Promise((r) => setTimeout(r, 20));
    }
    while ((await poll()) > 0);
  })();
  let next = 0;
  const payers = Array.from({ length: 8 }, async () => {
    while (next < targets.length) {
      const id = targets[next++] as string;
      const r = await client.call('POST', '/v1/payments', { key: payer.secret, raw: paymentBody(id, 45_000) });
      if (r.status !== 201) throw new Error(`binder payment answered ${r.status} ${JSON.stringify(r.body)}`);
    }
  });
  await Promise.all(payers);
  paying = false;
  await poller;
  // The whole feed read again from its start, after everything committed: the reference order.
  const all: string[] = [];
  let after: string | undefined;
  for (;;) {
    const r = await client.call('GET', `/v1/events?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`, {
      key: carrier.secret,
    });
    all.push(...r.body.data.map((e: { id: string }) => e.id));
    after = r.body.nextCursor;
    if (r.body.data.length === 0) break;
  }
  const duplicates = seen.length - new Set(seen).size;
  const sameOrder = seen.length === all.length && seen.every((id, i) => id === all[i]);
  const ok = duplicates === 0 && sameOrder && all.length >= 41 && pollers.size === 2;
  return {
    ok,
    detail: `${polls} polls over ${pollers.size} instances while 40 binder payments committed: ${seen.length} events received, ${duplicates} duplicates, ${sameOrder ? 'same order as' : 'DIFFERENT from'} a full read afterwards (${all.length} events)`,
  };
}

/** A key revoked through one instance is refused by the other at its next request (with the cache warm on both). */
export async function revocationAcrossInstances(_cluster: Cluster, client: Client): Promise<Verdict> {
  const key = await client.newKey('connector');
  const warm: Answer[] = [];
  while (instances(warm) < 2 || warm.length < 4) {
    warm.push(await client.call('GET', '/v1/payment-channels', { key: key.secret }));
    if (warm.length > 20) break;
  }
  const revoke = await client.call('DELETE', `/v1/api-keys/${key.id}`);
  const after: Answer[] = [];
  for (let i = 0; i < 6; i++) after.push(await client.call('GET', '/v1/payment-channels', { key: key.secret }));
  const other = after.filter((a) => a.upstream !== revoke.upstream);
  const ok =
    warm.every((a) => a.status === 200) &&
    revoke.status < 300 &&
    after.every((a) => a.status === 401) &&
    other.length > 0;
  return {
    ok,
    detail: `key used on ${instances(warm)} instances (${warm.length} x 200), revoked through ${revoke.upstream} (${revoke.status}); the next ${after.length} requests: ${after.map((a) => a.status).join(',')} (${other.length} on the other instance)`,
  };
}

/** The per-key limit holds for the sum over both instances. */
export async function rateLimitAcrossInstances(cluster: Cluster, client: Client): Promise<Verdict> {
  const max = Number(cluster.serviceEnv.RATE_LIMIT_PER_MINUTE);
  const key = await client.newKey('connector');
  const total = max + 60;
  const answers: Answer[] = [];
  let sent = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (sent < total) {
        sent++;
        answers.push(await client.call('GET', '/v1/payment-channels', { key: key.secret }));
      }
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  const admitted = answers.filter((a) => a.status === 200);
  const limited = answers.filter((a) => a.status === 429).length;
  const floor = max - 2 * (leaseSize(max) - 1);
  const ok =
    admitted.length <= max &&
    admitted.length >= floor &&
    admitted.length + limited === total &&
    instances(admitted) === 2 &&
    seconds < 50;
  const per = [...new Set(admitted.map((a) => a.upstream))].map((u) => admitted.filter((a) => a.upstream === u).length);
  return {
    ok,
    detail: `RATE_LIMIT_PER_MINUTE=${max} on each instance; ${total} requests with one key in ${seconds.toFixed(1)} s: ${admitted.length} admitted (${per.join(' + ')} by the two instances; at least ${floor} expected), ${limited} answered 429`,
  };
}

/** The test clock set through one instance is the clock of both: sweeps through either answer `asOf` = that instant. */
export async function clockAcrossInstances(_cluster: Cluster, client: Client): Promise<Verdict> {
  const ops = await client.newKey('ops');
  const at = '2029-12-01T17:00:00.000Z';
  const set = await client.call('PUT', '/v1/ops/clock', { key: ops.secret, body: { now: at } });
  const sweeps: Answer[] = [];
  for (let i = 0; i < 6; i++) sweeps.push(await client.call('POST', '/v1/ops/deadline-sweeps', { key: ops.secret }));
  const others = sweeps.filter((s) => s.upstream !== set.upstream);
  const ok = set.status === 200 && sweeps.every((s) => s.status === 200 && s.body.asOf === at) && others.length > 0;
  return {
    ok,
    detail: `clock set to ${at} through ${set.upstream}; 6 sweeps answered asOf ${[...new Set(sweeps.map((s) => s.body?.asOf))].join(', ')} (${others.length} of them by the other instance)`,
  };
}

/** Two deadline sweeps and two billing runs at the same moment, on both instances: each enrollment handled once. */
export async function sweepsAndRunsAcrossInstances(cluster: Cluster, client: Client): Promise<Verdict> {
  const ops = await client.newKey('ops');
  const set = await client.call('PUT', '/v1/ops/clock', { key: ops.secret, body: { now: '2029-12-27T17:00:00.000Z' } });
  const before = await query<{ pending: number; active: number }>(
    cluster.primaryUrl,
    `select count(*) filter (where status = 'pending_payment')::int as pending,
            count(*) filter (where status <> 'pending_payment')::int as active from enrollments`,
  );
  const { pending, active } = before[0] as { pending: number; active: number };
  const month = { coverageMonth: '2030-02-01' };
  // nginx alternates instances in the order requests arrive: each pair is sent together, the runs
  // 20 ms after the sweeps (which take far longer than that), so each pair lands on both instances
  // and all four run at the same time.
  const sweeps = [1, 2].map(() => client.call('POST', '/v1/ops/deadline-sweeps', { key: ops.secret }));
  await new Promise((r) => setTimeout(r, 20));
  const runs = [1, 2].map(() => client.call('POST', '/v1/billing-runs', { key: ops.secret, body: month }));
  const [s1, s2, r1, r2] = await Promise.all([...sweeps, ...runs]);
  const answers = [s1, s2, r1, r2] as Answer[];
  const moved = (s1?.body.enrollmentsMoved ?? 0) + (s2?.body.enrollmentsMoved ?? 0);
  const issued = (r1?.body.issuedCount ?? 0) + (r2?.body.issuedCount ?? 0);
  const [db] = (await query<{ moves: number; twice: number; invoices: number; doubled: number }>(
    cluster.primaryUrl,
    `select (select count(distinct enrollment_id)::int from enrollment_history where type = 'coverage_start_moved') as moves,
            (select count(*)::int from (select enrollment_id from enrollment_history where type = 'coverage_start_moved'
                                        group by enrollment_id having count(*) > 1) x) as twice,
            (select count(*)::int from invoices where coverage_month = '2030-02-01' and not is_binder) as invoices,
            (select count(*)::int from (select enrollment_id from invoices where coverage_month = '2030-02-01'
                                        group by enrollment_id having count(*) > 1) y) as doubled`,
  )) as [{ moves: number; twice: number; invoices: number; doubled: number }];
  const ok =
    set.status === 200 &&
    answers.every((a) => a.status === 200 || a.status === 201) &&
    moved === pending &&
    db.moves === pending &&
    db.twice === 0 &&
    issued === active &&
    db.invoices === active &&
    db.doubled === 0 &&
    s1?.upstream !== s2?.upstream &&
    r1?.upstream !== r2?.upstream;
  return {
    ok,
    detail: `sweeps on ${s1?.upstream} and ${s2?.upstream}: ${s1?.body.enrollmentsMoved} + ${s2?.body.enrollmentsMoved} moved of ${pending} pending (${db.moves} moved in the database, ${db.twice} twice); runs on ${r1?.upstream} and ${r2?.upstream}: ${r1?.body.issuedCount} + ${r2?.body.issuedCount} issued for ${active} paid enrollments (${db.invoices} invoices, ${db.doubled} enrollments billed twice); statuses ${answers.map((a) => a.status).join(',')}`,
  };
}

/** Reports that may be a little stale come from the replica; money and the feed from the primary. */
export async function replicaServesReports(cluster: Cluster, client: Client): Promise<Verdict> {
  const answers: Answer[] = [];
  for (let i = 0; i < 4; i++) answers.push(await client.call('GET', '/v1/ops/overdue-confirmations?limit=5'));
  const [lag] = (await query<{ replicas: number }>(
    cluster.superuserUrl,
    `select count(*)::int as replicas from pg_stat_replication where state = 'streaming'`,
  )) as [{ replicas: number }];
  const [on] = (await query<{ sessions: number; recovering: boolean }>(
    cluster.replicaUrl,
    `select count(*)::int as sessions, pg_is_in_recovery() as recovering from pg_stat_activity
     where datname = 'billing' and application_name = 'premium-billing'`,
  )) as [{ sessions: number; recovering: boolean }];
  const ok = answers.every((a) => a.status === 200) && lag.replicas === 1 && on.recovering && on.sessions > 0;
  return {
    ok,
    detail: `${answers.length} overdue-confirmation reports (${answers.map((a) => a.status).join(',')}) over ${instances(answers)} instances; ${lag.replicas} streaming replica; ${on.sessions} service sessions open on it (in recovery: ${on.recovering})`,
  };
}

/** One instance SIGKILLed under load: no acknowledged payment lost, the other keeps serving. */
export async function killOneInstance(cluster: Cluster, client: Client): Promise<Verdict> {
  const TOTAL = 300;
  const AMOUNT = 101;
  const keys = await Promise.all(Array.from({ length: 8 }, () => client.newKey('ops')));
  const paid = cluster.enrollmentIds.slice(0, 41);
  const acked = new Map<string, { id: string; afterKill: boolean }>();
  let killed = false;
  let retries = 0;
  let next = 0;
  const worker = async (secret: string) => {
    while (next < TOTAL) {
      const i = next++;
      const idem = randomUUID();
      const raw = paymentBody(paid[i % paid.length] as string, AMOUNT);
      for (let attempt = 0; ; attempt++) {
        try {
          const r = await client.call('POST', '/v1/payments', {
            key: secret,
            raw,
            idempotencyKey: idem,
            timeoutMs: 10_000,
          });
          if (r.status === 201) {
            acked.set(idem, { id: r.body.id, afterKill: killed });
            break;
          }
          if (r.status < 500 && r.status !== 409 && r.status !== 429) {
            throw new Error(`payment answered ${r.status} ${JSON.stringify(r.body)}`);
          }
        } catch (err) {
          if ((err as Error).message.startsWith('payment answered')) throw err;
        }
        if (attempt > 100) throw new Error('payment never acknowledged');
        retries++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const victim = cluster.services[0];
  const killer = (async () => {
    while (acked.size < TOTAL / 3) await new Promise((r) => setTimeout(r, 5));
    victim.child.kill('SIGKILL');
    killed = true;
    await victim.exited;
  })();
  const started = Date.now();
  await Promise.all([...keys.map((k) => worker(k.secret)), killer]);
  const seconds = (Date.now() - started) / 1000;
  const afterKill = [...acked.values()].filter((a) => a.afterKill).length;
  const rows = await query<{ id: string }>(cluster.primaryUrl, 'select id from payments where amount_cents = $1', [
    AMOUNT,
  ]);
  const stored = new Set(rows.map((r) => r.id));
  const missing = [...acked.values()].filter((a) => !stored.has(a.id)).length;
  const ready = await fetch(`${cluster.lb}/ready`);
  const ok = acked.size === TOTAL && missing === 0 && rows.length === TOTAL && afterKill > 0 && ready.ok;
  return {
    ok,
    detail: `${TOTAL} payments from 8 clients, instance on :${cluster.servicePorts[0]} SIGKILLed after ${Math.round(TOTAL / 3)} acknowledgements: ${acked.size} acknowledged (${afterKill} after the kill), ${rows.length} stored, ${missing} acknowledged but missing, ${rows.length - acked.size} extra, ${retries} client retries, ${seconds.toFixed(1)} s; /ready through nginx: ${ready.status}`,
  };
}
