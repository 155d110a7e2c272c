/**
 * Bill rendering benchmark (R32): renders N bills (default 50, after 5 warm-up renders) of one
 * partially paid binder invoice two ways and reports the median and p95 of each, in milliseconds:
 * - `http`: `GET /v1/invoices/{id}/bill.pdf` through the app (inject: auth, the invoice read and its
 *   projection, the plan and address reads, billContent and pdfkit);
 * - `render`: `renderBill` alone, from the same content.
 * Each also reports the CPU milliseconds of this process per bill (`...CpuMs`: the service's own work,
 * less sensitive than wall time to other load on a shared machine; for `http` it excludes PostgreSQL).
 *
 *   DATABASE_URL=postgres://root@127.0.0.1:5432/test npx tsx bench/bill-render.ts [bills]
 *
 * Without DATABASE_URL it uses an embedded PostgreSQL under .data/pg-bench.
 */
import { billContent } from '../src/domain/bill.js';
import { renderBill } from '../src/http/bill/render.js';
import { billApp } from './billApp.js';

const N = Number(process.argv[2] ?? 50);
const WARM_UP = 5;

function summary(samples: number[]): { median: number; p95: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? Number.NaN;
  return { median: Number(at(0.5).toFixed(2)), p95: Number(at(0.95).toFixed(2)) };
}

/** Wall-clock and CPU milliseconds of each of N runs (CPU: this process, user + system). */
async function time(work: () => Promise<unknown>): Promise<{ wall: number[]; cpu: number[] }> {
  for (let i = 0; i < WARM_UP; i++) await work();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < N; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await work();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall, cpu };
}

const bill = await billApp(`bill_bench_${process.pid}`);
try {
  const url = `/v1/invoices/${bill.invoiceId}/bill.pdf`;
  const pdf = await bill.get(url);
  let differing = 0;
  const http = await time(async () => {
    if (!(await bill.get(url)).equals(pdf)) differing++;
  });
  // Content like the route's (the seeded invoice), rendered without the reads.
  const content = billContent(
    {
      id: bill.invoiceId,
      invoiceNumber: '1000000008',
      enrollmentId: 'enr_bench',
      memberId: '100200300400',
      coverageMonth: '2027-01-01' as never,
      dueDate: '2026-12-23' as never,
      amountDueCents: 45012,
      amountPaidCents: 10000,
      creditAppliedCents: 0,
      isBinder: true,
      delivery: 'mail',
      issuedAt: new Date('2026-12-10T15:00:00Z'),
      voidedAt: null,
      subscriber: { firstName: 'Ana', lastName: 'Ferreira' },
      carrierId: 'harbor',
      carrierName: 'Harbor Health Plan',
      enrollment: { status: 'pending_payment', coverageStart: '2027-01-01' as never },
    },
    { planName: 'Harbor Silver 2000', coverageType: 'health' },
    { line1: '77 Harbor Street', line2: 'Apt 4B', city: 'Worcester', state: 'MA', postalCode: '01608' },
  );
  const first = await renderBill(content);
  const render = await time(async () => {
    if (!(await renderBill(content)).equals(first)) differing++;
  });
  // R32: the same state gives the same bytes, however warm the font caches are.
  if (differing > 0) throw new Error(`${differing} renders differed from the first`);
  console.log(
    JSON.stringify(
      {
        bills: N,
        pdfBytes: pdf.length,
        httpMs: summary(http.wall),
        httpCpuMs: summary(http.cpu),
        renderMs: summary(render.wall),
        renderCpuMs: summary(render.cpu),
      },
      null,
      2,
    ),
  );
} finally {
  await bill.close();
}
