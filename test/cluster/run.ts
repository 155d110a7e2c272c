/**
 * `npm run cluster`: the service as it runs in production, on loopback (README, "Running several
 * instances"): PostgreSQL primary and streaming replica, PgBouncer in transaction mode, two instances
 * behind nginx, all from Debian's packages (installed when missing; run as root). Runs the checks of
 * test/cluster/checks.ts through nginx, prints PASS/FAIL per check, stops everything, and exits
 * non-zero when any check failed. CLUSTER_KEEP=1 keeps the folder with every log. `--bench` runs no
 * checks but measures two instances against one (test/cluster/load.ts).
 */
import { execFileSync } from 'node:child_process';
import { ROOT } from '../chaos/common.js';
import {
  Client,
  clockAcrossInstances,
  feedAcrossInstances,
  idempotencyAcrossInstances,
  killOneInstance,
  rateLimitAcrossInstances,
  replicaServesReports,
  revocationAcrossInstances,
  sweepsAndRunsAcrossInstances,
  type Verdict,
} from './checks.js';
import { measure } from './load.js';
import { type Cluster, installPackages, SEEDED_ENROLLMENTS, startCluster } from './topology.js';

const started = Date.now();
const log = (line: string) => process.stdout.write(`${line}\n`);
const stamp = (line: string) => log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`);

const CHECKS: [string, (c: Cluster, client: Client) => Promise<Verdict>][] = [
  ['idempotency: 50 identical payments, one key, both instances', idempotencyAcrossInstances],
  ['events feed: polled through both instances while 40 binders are paid', feedAcrossInstances],
  ['revocation: refused by the other instance at the next request', revocationAcrossInstances],
  ['rate limit per key: holds for the sum over both instances', rateLimitAcrossInstances],
  ['test clock: set through one instance, the clock of both', clockAcrossInstances],
  ['sweeps and billing runs at the same moment on both: each enrollment once', sweepsAndRunsAcrossInstances],
  ['replica: the overdue-confirmations report is read from the streaming replica', replicaServesReports],
  ['SIGKILL of one instance under load: nothing acknowledged lost, the other serves', killOneInstance],
];

const bench = process.argv.includes('--bench');
installPackages(stamp);
execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
stamp('built');
const cluster = await startCluster(
  stamp,
  {
    // Small, so the rate-limit check reaches it; every other check uses keys of its own.
    RATE_LIMIT_PER_MINUTE: bench ? '10000000' : '240',
    DEADLINE_SWEEP_INTERVAL_MS: '0',
  },
  bench ? 40_000 : SEEDED_ENROLLMENTS,
);
log(`cluster up in ${((Date.now() - started) / 1000).toFixed(1)} s; load balancer ${cluster.lb}`);
const client = new Client(cluster.lb);
let failed = 0;
try {
  if (bench) await measure(cluster, stamp);
  for (const [name, check] of bench ? [] : CHECKS) {
    const t0 = Date.now();
    let verdict: Verdict;
    try {
      verdict = await check(cluster, client);
    } catch (err) {
      verdict = { ok: false, detail: `threw: ${(err as Error).stack ?? err}` };
    }
    if (!verdict.ok) failed++;
    log(`${verdict.ok ? 'PASS' : 'FAIL'} ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n     ${verdict.detail}`);
  }
} finally {
  if (process.env.CLUSTER_KEEP) log(`kept ${cluster.dir} (stop its processes yourself)`);
  else await cluster.stop();
}
const ran = bench ? 0 : CHECKS.length;
const load = (await import('node:os')).loadavg()[0]?.toFixed(1);
const total = ((Date.now() - started) / 1000).toFixed(1);
log(
  `cluster: ${bench ? 'bench' : `${ran - failed} passed, ${failed} failed`}, ${total} s in all (load average ${load})`,
);
process.exit(failed ? 1 : 0);
