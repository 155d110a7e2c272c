import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { Role } from '../../src/domain/principal.js';
import { ServiceClock } from '../../src/infra/clock.js';
import { createDatabase, type Database } from '../../src/infra/db.js';
import { ApiKeyStore } from '../../src/store/apiKeys.js';
import { cloneTemplate } from './db.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestContext {
  app: FastifyInstance;
  database: Database;
  clock: ServiceClock;
  opsKey: string;
  request(opts: InjectOptions & { key?: string | null }): Promise<LightMyRequestResponse>;
  newKey(role: Role, carrierId?: string | null): Promise<{ id: string; secret: string }>;
}

export const TEST_ENCRYPTION_KEY = `test1:${Buffer.alloc(32, 7).toString('base64')}`;
export const TEST_HMAC_KEY = Buffer.alloc(32, 8).toString('base64');

export function testConfig(env: Record<string, string> = {}) {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    IDEMPOTENCY_HMAC_KEY: TEST_HMAC_KEY,
    ALLOW_TEST_CLOCK: 'true',
    DEADLINE_SWEEP_INTERVAL_MS: '0',
    ...env,
  });
}

/** Builds the app on a fresh clone of the migrated template database; everything is torn down with `t`. */
export async function testApp(
  t: Teardown,
  opts: { env?: Record<string, string>; logger?: pino.Logger } = {},
): Promise<TestContext> {
  const clone = await cloneTemplate();
  const config = testConfig(opts.env);
  const database = createDatabase(clone.url, pino({ level: 'silent' }), 5, config.databaseLimits);
  const clock = new ServiceClock();
  const app = await buildApp({
    config,
    database,
    clock,
    logger: opts.logger ?? (process.env.TEST_LOG ? pino({ level: 'error' }) : false),
  });
  t.teardown(async () => {
    await app.close();
    await database.close();
    await clone.drop();
  });
  const apiKeys = new ApiKeyStore(database.db);
  const { secret: opsKey } = await apiKeys.create({ role: 'ops', carrierId: null, name: 'test ops' });
  return {
    app,
    database,
    clock,
    opsKey,
    request: ({ key, headers, ...rest }) =>
      app.inject({
        ...rest,
        headers: { ...(headers ?? {}), ...(key === null ? {} : { authorization: `Bearer ${key ?? opsKey}` }) },
      }),
    newKey: async (role, carrierId = null) => {
      const { key, secret } = await apiKeys.create({ role, carrierId, name: `test ${role}` });
      return { id: key.id, secret };
    },
  };
}

/** Sends the same request `times` times in a row; returns every status and the last answer. */
export async function repeatRequest(
  ctx: TestContext,
  opts: InjectOptions & { key?: string | null },
  times: number,
): Promise<{ statuses: number[]; last: LightMyRequestResponse }> {
  const statuses: number[] = [];
  let last: LightMyRequestResponse | undefined;
  for (let i = 0; i < times; i++) {
    last = await ctx.request(opts);
    statuses.push(last.statusCode);
  }
  if (!last) throw new Error('repeatRequest: times must be at least 1');
  return { statuses, last };
}

/**
 * A second instance of the service on the same database as `ctx` (its own pool, process clock,
 * API-key cache and rate-limit store), as two processes behind a load balancer would be; the same
 * ops key works on both. Torn down with `t`, before `ctx`'s database is dropped.
 */
export async function anotherInstance(
  t: Teardown,
  ctx: TestContext,
  opts: { env?: Record<string, string> } = {},
): Promise<TestContext> {
  const config = testConfig(opts.env);
  const url = ctx.database.pool.options.connectionString as string;
  const database = createDatabase(url, pino({ level: 'silent' }), 5, config.databaseLimits);
  const clock = new ServiceClock();
  const app = await buildApp({ config, database, clock, logger: false });
  t.teardown(async () => {
    await app.close();
    await database.close();
  });
  const apiKeys = new ApiKeyStore(database.db);
  return {
    app,
    database,
    clock,
    opsKey: ctx.opsKey,
    request: ({ key, headers, ...rest }) =>
      app.inject({
        ...rest,
        headers: { ...(headers ?? {}), ...(key === null ? {} : { authorization: `Bearer ${key ?? ctx.opsKey}` }) },
      }),
    newKey: async (role, carrierId = null) => {
      const { key, secret } = await apiKeys.create({ role, carrierId, name: `test ${role}` });
      return { id: key.id, secret };
    },
  };
}
