/**
 * `npm run cluster -- --bench`: throughput of the same cluster with two instances behind nginx
 * against one instance alone (the same PgBouncer and database), in the same run, on the same
 * machine (docs/performance.md, "Two instances"). Payments complete binders (a pending enrollment
 * each, like `npm run bench`); reads are GET /v1/enrollments/{id}. 50 connections, 10 s, each
 * scenario twice in alternation, medians.
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { OPS } from '../chaos/common.js';
import type { Cluster } from './topology.js';

interface Figure {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

const DURATION = 10;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const fmt = (f: Figure) =>
  `${f.rps.toFixed(0)} req/s, p50 ${f.p50} ms, p99 ${f.p99} ms${f.errors ? `, ${f.errors} errors` : ''}`;

async function cannon(opts: autocannon.Options): Promise<Figure> {
  const r = await autocannon({ duration: DURATION, connections: 50, ...opts });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx };
}

/** Both targets twice, alternating (two, one, two, one), medians of each. */
async function compare(run: (base: string) => Promise<Figure>, two: string, one: string) {
  const runs: { two: Figure[]; one: Figure[] } = { two: [], one: [] };
  for (let i = 0; i < 2; i++) {
    runs.two.push(await run(two));
    runs.one.push(await run(one));
  }
  const med = (fs: Figure[]): Figure => ({
    rps: median(fs.map((f) => f.rps)),
    p50: median(fs.map((f) => f.p50)),
    p99: median(fs.map((f) => f.p99)),
    errors: fs.reduce((n, f) => n + f.errors, 0),
  });
  return { two: med(runs.two), one: med(runs.one) };
}

export async function measure(cluster: Cluster, log: (line: string) => void): Promise<void> {
  const headers = { authorization: `Bearer ${OPS}`, 'content-type': 'application/json' };
  const one = `http://127.0.0.1:${cluster.servicePorts[0]}`;
  let next = 0;
  const pending = cluster.enrollmentIds;
  const payments = await compare(
    (url) =>
      cannon({
        url,
        headers,
        requests: [
          {
            method: 'POST',
            path: '/v1/payments',
            setupRequest: (req) => {
              const id = pending[next++];
              if (!id) throw new Error('out of pending enrollments: seed more');
              return {
                ...req,
                headers: { ...req.headers, 'idempotency-key': randomUUID() },
                body: JSON.stringify({
                  channel: 'online',
                  method: 'checking',
                  amountCents: 45_000,
                  enrollmentId: id,
                  bankAccount: { routingNumber: '011000015', accountNumber: '123456789' },
                }),
              };
            },
          },
        ],
      }),
    cluster.lb,
    one,
  );
  const readIds = pending.slice(0, 1000);
  let r = 0;
  const reads = await compare(
    (url) =>
      cannon({
        url,
        headers,
        requests: [
          { method: 'GET', setupRequest: (req) => ({ ...req, path: `/v1/enrollments/${readIds[r++ % 1000]}` }) },
        ],
      }),
    cluster.lb,
    one,
  );
  for (const [name, f] of [
    ['POST /v1/payments (binder-completing)', payments],
    ['GET /v1/enrollments/{id}', reads],
  ] as const) {
    log(
      `${name}, 50 conns: two instances behind nginx ${fmt(f.two)}; one instance alone ${fmt(f.one)}; ratio ${(f.two.rps / f.one.rps).toFixed(2)}`,
    );
  }
  log(`payments posted: ${next}`);
}
