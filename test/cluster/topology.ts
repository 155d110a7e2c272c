/**
 * The production topology on loopback, from Debian's packages (README, "Running several instances"):
 * a PostgreSQL 15 primary and a streaming replica (pg_basebackup -R) with their own data folders and
 * ports, PgBouncer in transaction mode, two service instances (`node dist/src/server.js`) and nginx
 * in front of them. Config files come from deploy/ (the ones docker-compose.yml uses). Every process
 * is a child of this one and is stopped by its pid.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { freePort, freshDatabase, ROOT, type Service, startService } from '../chaos/common.js';
import { admin } from '../helpers/serverAdmin.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const NGINX = '/usr/sbin/nginx';
const PGBOUNCER = '/usr/sbin/pgbouncer';
const DEPLOY = path.join(ROOT, 'deploy');
/** The role and password of deploy/pgbouncer/userlist.txt. */
const ROLE = 'billing';
const PASSWORD = 'billing-local';
export const SEEDED_ENROLLMENTS = 160;

export interface Cluster {
  dir: string;
  lb: string;
  primaryUrl: string;
  /** The primary's superuser (replication status). */
  superuserUrl: string;
  replicaUrl: string;
  /** The environment both instances run with. */
  serviceEnv: Record<string, string>;
  services: [Service, Service];
  servicePorts: [number, number];
  enrollmentIds: string[];
  restartService(i: 0 | 1): Promise<void>;
  stop(): Promise<void>;
}

/** Installs nginx and PgBouncer from Debian when missing (the script runs as root; CI reaches Debian's mirrors). */
export function installPackages(log: (line: string) => void): void {
  const missing = [
    ['nginx', NGINX],
    ['pgbouncer', PGBOUNCER],
  ].filter(([, bin]) => !existsSync(bin as string));
  if (!existsSync(`${PG_BIN}/postgres`)) missing.push(['postgresql-15', `${PG_BIN}/postgres`]);
  if (missing.length === 0) return;
  const names = missing.map(([name]) => name as string);
  log(`installing ${names.join(', ')} from Debian`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...names], { stdio: 'ignore', env });
}

/** `${NAME}` of the given names only, as the nginx image's envsubst does (nginx's own $variables stay). */
export function render(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{([A-Z_0-9]+)\}/g, (all, name: string) => values[name] ?? all);
}

interface Proc {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

function postgresUser(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** PostgreSQL and PgBouncer refuse to run as root: they run as the postgres user. */
function spawnAs(name: string, file: string, args: string[], logFile: string, asPostgres: boolean): Proc {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(file, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(asPostgres ? postgresUser() : {}),
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { name, child, exited };
}

function runAs(file: string, args: string[]): void {
  execFileSync(file, args, { stdio: 'pipe', ...postgresUser() });
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > end) throw new Error(`${what} did not come up`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function sqlOk(url: string, text: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await c.connect();
    const r = await c.query(text);
    return r.rows[0]?.ok === true;
  } finally {
    await c.end().catch(() => {});
  }
}

/** Server settings of both PostgreSQL servers (the same as docker-compose.yml's, plus loopback ports). */
function postgresArgs(dataDir: string, port: number, sockets: string): string[] {
  return [
    '-D',
    dataDir,
    '-c',
    `port=${port}`,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${sockets}`,
    '-c',
    'wal_level=replica',
    '-c',
    'max_wal_senders=10',
    '-c',
    'wal_keep_size=256MB',
    '-c',
    'hot_standby=on',
    '-c',
    'hot_standby_feedback=on',
    '-c',
    'max_connections=200',
  ];
}

async function startPrimary(dir: string, port: number, procs: Proc[]): Promise<string> {
  const data = path.join(dir, 'primary');
  runAs(`${PG_BIN}/initdb`, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  procs.push(
    spawnAs('primary', `${PG_BIN}/postgres`, postgresArgs(data, port, dir), path.join(dir, 'primary.log'), true),
  );
  const superuser = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitFor('the primary', () => sqlOk(superuser, 'select true as ok'));
  await admin(superuser, `create role ${ROLE} login createdb password '${PASSWORD}'`);
  // As deploy/postgres/init-primary.sh: the limits as role defaults (the service sends none through PgBouncer).
  for (const [name, value] of [
    ['lock_timeout', '5s'],
    ['statement_timeout', '15s'],
    ['idle_in_transaction_session_timeout', '10s'],
  ]) {
    await admin(superuser, `alter role ${ROLE} set ${name} = '${value}'`);
  }
  return superuser;
}

async function startReplica(dir: string, primaryPort: number, port: number, procs: Proc[]): Promise<void> {
  const data = path.join(dir, 'replica');
  runAs(`${PG_BIN}/pg_basebackup`, [
    '-h',
    '127.0.0.1',
    '-p',
    String(primaryPort),
    '-U',
    'postgres',
    '-D',
    data,
    '-R',
    '-X',
    'stream',
    // An immediate checkpoint: a spread one waits most of checkpoint_timeout.
    '--checkpoint=fast',
    '--no-sync',
  ]);
  procs.push(
    spawnAs('replica', `${PG_BIN}/postgres`, postgresArgs(data, port, dir), path.join(dir, 'replica.log'), true),
  );
  await waitFor('the replica', () =>
    sqlOk(`postgres://postgres@127.0.0.1:${port}/postgres`, 'select pg_is_in_recovery() as ok'),
  );
}

function startPgBouncer(dir: string, primaryPort: number, port: number, procs: Proc[]): void {
  const conf = path.join(dir, 'pgbouncer');
  mkdirSync(conf, { recursive: true });
  copyFileSync(path.join(DEPLOY, 'pgbouncer', 'userlist.txt'), path.join(conf, 'userlist.txt'));
  const ini = render(readFileSync(path.join(DEPLOY, 'pgbouncer', 'pgbouncer.ini.template'), 'utf8'), {
    PRIMARY_HOST: '127.0.0.1',
    PRIMARY_PORT: String(primaryPort),
    LISTEN_ADDR: '127.0.0.1',
    LISTEN_PORT: String(port),
    CONFIG_DIR: conf,
  });
  writeFileSync(path.join(conf, 'pgbouncer.ini'), ini);
  execFileSync('chown', ['-R', 'postgres:postgres', conf]);
  procs.push(
    spawnAs('pgbouncer', PGBOUNCER, [path.join(conf, 'pgbouncer.ini')], path.join(dir, 'pgbouncer.log'), true),
  );
}

async function startNginx(dir: string, port: number, apps: [number, number], procs: Proc[]): Promise<void> {
  const conf = path.join(dir, 'nginx');
  mkdirSync(path.join(conf, 'tmp'), { recursive: true });
  const site = render(readFileSync(path.join(DEPLOY, 'nginx', 'billing.conf.template'), 'utf8'), {
    BILLING_APP_1: `127.0.0.1:${apps[0]}`,
    BILLING_APP_2: `127.0.0.1:${apps[1]}`,
    LB_LISTEN: `127.0.0.1:${port}`,
  });
  writeFileSync(path.join(conf, 'billing.conf'), site);
  // The main context the nginx image has; the site itself is deploy/'s file.
  const main = [
    'daemon off;',
    'worker_processes 2;',
    `pid ${conf}/nginx.pid;`,
    `error_log ${dir}/nginx.log warn;`,
    'events { worker_connections 1024; }',
    'http {',
    `  access_log off;`,
    `  client_body_temp_path ${conf}/tmp/body; proxy_temp_path ${conf}/tmp/proxy;`,
    `  fastcgi_temp_path ${conf}/tmp/fastcgi; uwsgi_temp_path ${conf}/tmp/uwsgi; scgi_temp_path ${conf}/tmp/scgi;`,
    `  include ${conf}/billing.conf;`,
    '}',
  ].join('\n');
  writeFileSync(path.join(conf, 'nginx.conf'), main);
  procs.push(
    spawnAs('nginx', NGINX, ['-p', conf, '-c', path.join(conf, 'nginx.conf')], path.join(dir, 'nginx.log'), false),
  );
  await waitFor('nginx', async () => (await fetch(`http://127.0.0.1:${port}/ready`)).ok);
}

async function stopProc(p: Proc, signal: NodeJS.Signals): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  await p.exited;
  clearTimeout(timer);
}

/** Starts everything; on failure stops what started and rethrows. */
export async function startCluster(
  log: (line: string) => void,
  env: Record<string, string>,
  enrollments = SEEDED_ENROLLMENTS,
): Promise<Cluster> {
  const dir = path.join('/tmp', `cl-cluster-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  execFileSync('chown', ['postgres:postgres', dir]);
  const procs: Proc[] = [];
  const services: Service[] = [];
  const stop = async () => {
    for (const s of services) await stopProc({ name: 'service', child: s.child, exited: s.exited }, 'SIGTERM');
    for (const p of [...procs].reverse()) await stopProc(p, p.name === 'nginx' ? 'SIGQUIT' : 'SIGINT');
  };
  try {
    const [primaryPort, replicaPort, bouncerPort, app1, app2, lbPort] = await Promise.all(
      Array.from({ length: 6 }, () => freePort()),
    );
    const ports = { primaryPort, replicaPort, bouncerPort, app1, app2, lbPort } as Record<string, number>;
    log(`cluster in ${dir}: ${JSON.stringify(ports)}`);
    const superuserUrl = await startPrimary(dir, primaryPort as number, procs);
    log('primary up');
    const direct = `postgres://${ROLE}:${PASSWORD}@127.0.0.1:${primaryPort}`;
    const seeded = await freshDatabase('billing', enrollments, `${direct}/postgres`);
    log('database seeded');
    await startReplica(dir, primaryPort as number, replicaPort as number, procs);
    log('replica streaming');
    startPgBouncer(dir, primaryPort as number, bouncerPort as number, procs);
    const replicaUrl = `postgres://${ROLE}:${PASSWORD}@127.0.0.1:${replicaPort}/billing`;
    const serviceEnv: Record<string, string> = {
      NODE_ENV: 'development',
      ALLOW_TEST_CLOCK: 'true',
      DATABASE_URL: `postgres://${ROLE}:${PASSWORD}@127.0.0.1:${bouncerPort}/billing`,
      DATABASE_STARTUP_PARAMETERS: 'off',
      MIGRATION_DATABASE_URL: `${direct}/billing`,
      DATABASE_LISTEN_URL: `${direct}/billing`,
      DATABASE_REPLICA_URL: replicaUrl,
      TRUST_PROXY: 'loopback',
      DATA_DIR: path.join(dir, 'data'),
      LOG_LEVEL: 'warn',
      ...env,
    };
    const serviceLog = createWriteStream(path.join(dir, 'services.log'), { flags: 'a' });
    const servicePorts: [number, number] = [app1 as number, app2 as number];
    const started = await Promise.all(
      servicePorts.map((p) => startService(serviceEnv.DATABASE_URL as string, p, serviceEnv, serviceLog)),
    );
    services.push(...started);
    log('two instances ready');
    await startNginx(dir, lbPort as number, servicePorts, procs);
    return {
      dir,
      lb: `http://127.0.0.1:${lbPort}`,
      primaryUrl: `${direct}/billing`,
      superuserUrl,
      replicaUrl,
      serviceEnv,
      services: services as [Service, Service],
      servicePorts,
      enrollmentIds: seeded.enrollmentIds,
      restartService: async (i) => {
        services[i] = await startService(serviceEnv.DATABASE_URL as string, servicePorts[i], serviceEnv, serviceLog);
      },
      stop: async () => {
        await stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stop();
    log(`logs kept in ${dir}`);
    throw err;
  }
}
