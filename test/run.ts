/**
 * `npm test`: runs the tap suite against a real PostgreSQL.
 * - DATABASE_URL set: that server is used; otherwise an embedded PostgreSQL under .data/pg-test.
 * - A template database is migrated once per run; each test file clones it (see test/helpers/db.ts),
 *   so files run in parallel without sharing data.
 * - Prints a closing `N passed, M failed` line and enforces the coverage thresholds in package.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { createDatabase } from '../src/infra/db.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../src/infra/embedded.js';
import { migrateToLatest } from '../src/infra/migrate.js';
import { admin, serverOf } from './helpers/serverAdmin.js';

const root = path.resolve(import.meta.dirname, '..');
const TEMPLATE = `billing_test_template_${process.pid}`;

let embedded: EmbeddedDatabase | undefined;
let serverUrl: string;
let adminDb: string;
if (process.env.DATABASE_URL) {
  ({ server: serverUrl, adminDb } = serverOf(process.env.DATABASE_URL));
} else {
  process.stdout.write('DATABASE_URL unset: starting embedded PostgreSQL for the tests (.data/pg-test)\n');
  embedded = await startEmbeddedPostgres({
    dataDir: path.join(root, '.data', 'pg-test'),
    port: Number(process.env.EMBEDDED_TEST_PG_PORT ?? 54330),
  });
  serverUrl = embedded.serverUrl;
  adminDb = 'postgres';
}

let status = 1;
try {
  await admin(`${serverUrl}/${adminDb}`, `drop database if exists ${TEMPLATE}`);
  await admin(`${serverUrl}/${adminDb}`, `create database ${TEMPLATE}`);
  const database = createDatabase(`${serverUrl}/${TEMPLATE}`, pino({ level: 'silent' }), 1);
  await migrateToLatest(database.db);
  await database.close();

  rmSync(path.join(root, '.tap', 'test-results'), { recursive: true, force: true });
  const tap = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules', 'tap', 'dist', 'esm', 'run.mjs'), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      cwd: root,
      env: {
        ...process.env,
        TEST_DATABASE_SERVER_URL: serverUrl,
        TEST_DATABASE_ADMIN_DB: adminDb,
        TEST_TEMPLATE_DATABASE: TEMPLATE,
      },
    },
  );
  status = tap.status ?? 1;
} finally {
  await admin(`${serverUrl}/${adminDb}`, `drop database if exists ${TEMPLATE} with (force)`).catch(() => {});
  await embedded?.stop();
}

// Count the named tests (top-level test points of every file) from the TAP that tap saved.
const resultsDir = path.join(root, '.tap', 'test-results');
let passed = 0;
let failed = 0;
if (existsSync(resultsDir)) {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.tap') ? [path.join(dir, e.name)] : [],
    );
  for (const file of walk(resultsDir)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (/^ok \d+/.test(line)) passed++;
      else if (/^not ok \d+/.test(line)) failed++;
    }
  }
}
// Coverage thresholds (package.json "tap": statements, branches, functions, lines), enforced on full runs
// only; tap reads the same numbers, so it only prints "incomplete coverage" when one is really missed.
if (status === 0 && process.argv.length <= 2) {
  const tapConfig = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).tap as Record<string, unknown>;
  const thresholds = Object.fromEntries(
    ['statements', 'branches', 'functions', 'lines'].map((m) => [m, Number(tapConfig[m] ?? 100)]),
  );
  const summaryFile = path.join(root, '.tap', 'report', 'coverage-summary.json');
  const total = existsSync(summaryFile)
    ? (JSON.parse(readFileSync(summaryFile, 'utf8')).total as Record<string, { pct: number }>)
    : undefined;
  for (const [metric, min] of Object.entries(thresholds)) {
    const pct = total?.[metric]?.pct ?? 0;
    if (pct < min) {
      process.stdout.write(`coverage: ${metric} ${pct}% is below the threshold of ${min}%\n`);
      status = 1;
    }
  }
}
if (status !== 0 && failed === 0) failed = 1; // a crash or a coverage failure still counts as a failure
process.stdout.write(`\n${passed} passed, ${failed} failed\n`);
process.exit(status);
