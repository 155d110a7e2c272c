import type { Server } from 'node:http';
import { AjvCompiler } from '@fastify/ajv-compiler';
import etag from '@fastify/etag';
import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyHttpOptions,
  type FastifyInstance,
  type FastifyServerOptions,
} from 'fastify';
import { Counter, Gauge } from 'prom-client';
import type { Config } from './config.js';
import { type BusinessCalendar, massachusettsCalendar } from './domain/calendar.js';
import { openapiOptions } from './http/openapi.js';
import authPlugin from './http/plugins/auth.js';
import cardScreenPlugin from './http/plugins/cardScreen.js';
import errorsPlugin, { clientErrorHandler, frameworkErrors, ROUTER_OPTIONS } from './http/plugins/errors.js';
import headersPlugin, { requestIdOf } from './http/plugins/headers.js';
import idempotencyPlugin from './http/plugins/idempotency.js';
import jsonBodyPlugin from './http/plugins/jsonBody.js';
import metricsPlugin from './http/plugins/metrics.js';
import { leasedRateLimitStore } from './http/plugins/rateLimitStore.js';
import { ProblemSchema, problem, sendProblem } from './http/problem.js';
import { childLoggerFactory, requestLogView } from './http/requestLog.js';
import accountRoutes from './http/routes/accounts.js';
import achRoutes from './http/routes/achFiles.js';
import apiKeyRoutes from './http/routes/apiKeys.js';
import carrierRoutes from './http/routes/carriers.js';
import carrierWorkRoutes from './http/routes/carrierWork.js';
import clockRoutes from './http/routes/clock.js';
import enrollmentRoutes from './http/routes/enrollments.js';
import healthRoutes from './http/routes/health.js';
import invoiceRoutes from './http/routes/invoices.js';
import lockboxRoutes from './http/routes/lockbox.js';
import opsPaymentRoutes from './http/routes/opsPayments.js';
import paymentRoutes from './http/routes/payments.js';
import referenceRoutes from './http/routes/reference.js';
import { ApiKeyCache, type ApiKeyCacheOptions } from './infra/apiKeyCache.js';
import { ServiceClock } from './infra/clock.js';
import type { Database } from './infra/db.js';
import { AchService } from './services/ach.js';
import { AdminService } from './services/admin.js';
import { BillingService } from './services/billing.js';
import { CarrierService } from './services/carriers.js';
import { IdempotencyService } from './services/idempotency.js';
import { LockboxService } from './services/lockbox.js';
import { PaymentService } from './services/payments.js';
import { TestClockService } from './services/testClock.js';
import { ApiKeyStore } from './store/apiKeys.js';
import { FieldCipher } from './store/crypto.js';
import { classifyStorageError } from './store/errors.js';
import { HealthStore } from './store/health.js';
import { RateLimitStore } from './store/rateLimits.js';
import { Stores } from './store/stores.js';
import { TestClockStore } from './store/testClock.js';

export interface AppOptions {
  config: Config;
  /** The caller owns the database: buildApp never closes it. */
  database: Database;
  /** A streaming replica for reports that may be a little stale (DATABASE_REPLICA_URL); the caller owns it. */
  replica?: Database;
  clock?: ServiceClock;
  calendar?: BusinessCalendar;
  logger?: FastifyServerOptions['logger'] | FastifyBaseLogger;
  /** API-key cache: false turns it off, options tune it; default: `config.apiKeyCache`. */
  apiKeyCache?: boolean | ApiKeyCacheOptions;
}

declare module 'fastify' {
  interface FastifyInstance {
    clock: ServiceClock;
    /** Null when the API-key cache is off. */
    apiKeyCache: ApiKeyCache | null;
  }
}

/** Secrets never reach a log line, whatever object carries them. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'secret',
  'accountNumber',
  'cardNumber',
  'cvv',
  'securityCode',
  '*.secret',
  '*.accountNumber',
  '*.cardNumber',
  '*.cvv',
  '*.securityCode',
  '*.*.accountNumber',
  'err.detail',
  '*.detail',
];

/**
 * Log serializers: a request is logged by its route pattern and query keys only (src/http/requestLog.ts),
 * never its raw path or query values, which can hold Member IDs, phone numbers or a card number
 * (the access log line is written before any hook could refuse the request).
 */
export const LOG_SERIALIZERS = { req: requestLogView };

/**
 * Bodies are validated without any type coercion (`amountCents: true` is a 400, never 1);
 * the query string and path parameters are text by nature, so they alone may be parsed to numbers.
 */
function validatorFactory() {
  const base = AjvCompiler();
  return (externalSchemas: unknown, options: { customOptions: Record<string, unknown> }) => {
    const strict = base(
      externalSchemas as never,
      { ...options, customOptions: { ...options.customOptions, coerceTypes: false } } as never,
    );
    const text = base(
      externalSchemas as never,
      { ...options, customOptions: { ...options.customOptions, coerceTypes: true } } as never,
    );
    return (ctx: { httpPart?: string }) =>
      (ctx.httpPart === 'querystring' || ctx.httpPart === 'params' ? text : strict)(ctx as never);
  };
}

/** The docs' CSP from @fastify/swagger-ui, tightened: never framed, no forced https upgrade, no external validator. */
function docsCsp(header: string): string {
  return header
    .replace("frame-ancestors 'self'", "frame-ancestors 'none'")
    .replace(/\s*upgrade-insecure-requests;?/, '')
    .replace(' validator.swagger.io', '')
    .trim();
}

/**
 * TRUST_PROXY for fastify: addresses and CIDRs as they are; a hop count as a trust function, since
 * fastify 5.12 trusts nothing for a bare number (fail closed) while TRUST_PROXY=n means "n proxies".
 */
function fastifyTrustProxy(
  setting: Config['trustProxy'],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting === 'number') return setting > 0 ? (_address, hop) => hop < setting : false;
  return setting;
}

/** The services the routes call, and the stores behind them: built in one place, in one order. */
function buildServices(opts: AppOptions, log: FastifyBaseLogger, apiKeyCache: ApiKeyCache | null) {
  const { config, database } = opts;
  const clock = opts.clock ?? new ServiceClock();
  const calendar = opts.calendar ?? massachusettsCalendar;
  const apiKeys = new ApiKeyStore(database.db, apiKeyCache);
  const stores = new Stores(database.db, { cipher: new FieldCipher(config.dataEncryptionKeys) });
  const idempotency = new IdempotencyService(
    stores,
    clock,
    config.idempotencyHmacKey,
    config.idempotencyLegacyHmacKeys,
  );
  const health = new HealthStore(database.db);
  const testClock = new TestClockService(clock, new TestClockStore(database.db, apiKeyCache));
  const rateLimits = new RateLimitStore(database.db);
  const reports = opts.replica ? new Stores(opts.replica.db) : stores;
  const admin = new AdminService(stores, clock, apiKeys);
  const billing = new BillingService(stores, clock, calendar, { log });
  const payments = new PaymentService(stores, clock, calendar, billing);
  const carriers = new CarrierService(stores, clock, calendar, billing, reports);
  const lockbox = new LockboxService(stores, clock, calendar, payments);
  const ach = new AchService(stores, clock, calendar, config.ach, payments, { log });
  return {
    ...{ clock, testClock, rateLimits, apiKeys, idempotency, health },
    ...{ admin, billing, payments, carriers, lockbox, ach },
  };
}
type Services = ReturnType<typeof buildServices>;

/** Logger, ids, router, limits and validators: everything fastify takes at construction. */
function serverOptions(opts: AppOptions): FastifyHttpOptions<Server, FastifyBaseLogger> {
  const { config } = opts;
  const loggerOption =
    opts.logger === undefined
      ? { level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, serializers: LOG_SERIALIZERS }
      : opts.logger;
  return {
    ...(loggerOption && typeof (loggerOption as FastifyBaseLogger).child === 'function'
      ? { loggerInstance: loggerOption as FastifyBaseLogger }
      : { logger: loggerOption as FastifyServerOptions['logger'] }),
    // The client's X-Request-Id is kept only in a safe format (requestIdOf), else a UUID is made.
    requestIdHeader: false,
    genReqId: requestIdOf,
    // Access logs name the route pattern and query keys, never paths or query values (Member IDs, phones).
    childLoggerFactory,
    routerOptions: ROUTER_OPTIONS,
    frameworkErrors,
    clientErrorHandler,
    trustProxy: fastifyTrustProxy(config.trustProxy),
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    // Node checks request timeouts on this interval (default 30 s); keep it well inside the timeout.
    http: { connectionsCheckingInterval: Math.min(5_000, Math.ceil(config.requestTimeoutMs / 2)) },
    // Idle sockets are dropped later than a slow request is answered 408, so the client hears why.
    connectionTimeout: config.requestTimeoutMs * 2,
    return503OnClosing: false,
    ajv: {
      customOptions: { removeAdditional: false, useDefaults: true, allErrors: true, coerceTypes: false },
    },
    schemaController: { compilersFactory: { buildValidator: validatorFactory() as never } },
  };
}

/** Graceful shutdown: requests already running finish; new ones are told to come back. */
function addShutdownHooks(app: FastifyInstance) {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // Responses finished during shutdown close their connection, so keep-alive sockets do not hold the close up.
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) {
      reply.header('connection', 'close').header('retry-after', '5');
      return sendProblem(reply, problem(503, 'shutting_down', 'Service unavailable', 'The service is shutting down.'));
    }
  });
}

/**
 * The API-key cache with its revocation listener (its own connection, closed with the app); null when
 * off. LISTEN needs a session: DATABASE_LISTEN_URL names a direct connection when DATABASE_URL is a
 * transaction-mode pooler.
 */
function addApiKeyCache(app: FastifyInstance, opts: AppOptions): ApiKeyCache | null {
  const cacheSetting = opts.apiKeyCache ?? opts.config.apiKeyCache;
  const listenUrl = opts.config.databaseListenUrl;
  const connection = listenUrl ? { connectionString: listenUrl } : opts.database.pool.options;
  const apiKeyCache =
    cacheSetting === false ? null : new ApiKeyCache(connection, app.log, cacheSetting === true ? {} : cacheSetting);
  app.decorate('apiKeyCache', apiKeyCache);
  if (apiKeyCache) app.addHook('onClose', async () => apiKeyCache.close());
  return apiKeyCache;
}

/** Rate-limit windows shared by every instance (src/http/plugins/rateLimitStore.ts, docs/decisions.md). */
function sharedRateLimitStore(app: FastifyInstance, s: Services) {
  let warnedAt = 0;
  return leasedRateLimitStore(s.rateLimits, (msg, err) => {
    if (Date.now() - warnedAt < 10_000) return;
    warnedAt = Date.now();
    app.log.warn({ err: { message: err.message, code: (err as Error & { code?: string }).code } }, msg);
  }) as unknown as FastifyRateLimitStoreCtor;
}

/**
 * ALLOW_TEST_CLOCK=true only: the shared test clock reaches this instance by its listener's
 * notifications (acknowledged, so the change answers once every instance has it); while that
 * listener is down (or the API-key cache is off), each request first reads the clock from the
 * database instead. Nothing is installed when the flag is off.
 */
function addTestClockRefresh(app: FastifyInstance, config: Config, s: Services, listener: ApiKeyCache | null) {
  if (!config.allowTestClock) return;
  // A notification whose read failed (the database restarting as the listener came back, say) left
  // this process on its last instant: requests read the clock themselves until a read succeeds.
  let missed = false;
  if (listener)
    listener.onClockChanged = async () => {
      missed = !(await refreshTestClock(app, s));
    };
  app.addHook('onRequest', async () => {
    if (!listener?.usable || missed) {
      if (await refreshTestClock(app, s)) missed = false;
    }
  });
}

/** False when the clock could not be read (it keeps its last instant). */
async function refreshTestClock(app: FastifyInstance, s: Services): Promise<boolean> {
  try {
    await s.testClock.refresh();
    return true;
  } catch (err) {
    // The database is down: the request will say so itself; the clock keeps its last instant.
    app.log.warn({ err: { message: (err as Error).message } }, 'test clock not refreshed');
    return false;
  }
}

/** Cross-cutting plugins, in order: errors, body screens, headers, ETag, rate limit, auth, idempotency. */
async function registerPlugins(app: FastifyInstance, config: Config, services: Services) {
  await app.register(errorsPlugin, { classifyStorageError });
  await app.register(jsonBodyPlugin);
  await app.register(cardScreenPlugin);
  await app.register(headersPlugin);
  // Pollers send If-None-Match; an unchanged page answers 304 with no body.
  await app.register(etag, { weak: true });
  // Per-key rate limit, counted after authentication so each API key has its own budget. The auth
  // plugin uses the same plugin's `createRateLimit` for its failure budget, so it registers after.
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    ...(config.rateLimitStore === 'database' ? { store: sharedRateLimitStore(app, services) } : {}),
    keyGenerator: (request) => request.principal?.keyId ?? request.ip,
    errorResponseBuilder: (_request, context) =>
      Object.assign(
        new Error(`Rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}.`),
        {
          statusCode: 429,
        },
      ),
  });
  await app.register(authPlugin, {
    apiKeys: services.apiKeys,
    authFailuresPerMinute: config.authFailuresPerMinute,
  });
  await app.register(idempotencyPlugin, { idempotency: services.idempotency });
}

/** The OpenAPI document (/openapi.json) and its browsable docs (/docs). */
async function registerDocs(app: FastifyInstance) {
  await app.register(swagger, openapiOptions);
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { deepLinking: true },
    // swagger-ui's own policy (its inline script hashes), never framed, and usable over plain http.
    staticCSP: true,
    transformStaticCSP: docsCsp,
  });
}

/** Prometheus metrics (/metrics), with the API-key cache's hit rate and listener state when it is on. */
async function registerMetrics(app: FastifyInstance, apiKeyCache: ApiKeyCache | null) {
  await app.register(metricsPlugin);
  if (!apiKeyCache) return;
  const lookups = new Counter({
    name: 'api_key_cache_lookups_total',
    help: 'API-key lookups: hit and miss while the cache is in use, bypass while its listener is down',
    labelNames: ['result'] as const,
    registers: [app.metrics],
  });
  apiKeyCache.onLookup = (result) => lookups.inc({ result });
  new Gauge({
    name: 'api_key_cache_listening',
    help: '1 while the API-key cache is trusted (its revocation listener is up), else 0',
    registers: [app.metrics],
    collect() {
      this.set(apiKeyCache.usable ? 1 : 0);
    },
  });
}

async function registerRoutes(app: FastifyInstance, config: Config, s: Services) {
  app.get('/openapi.json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger());
  await app.register(healthRoutes, { readiness: () => s.health.readiness() });
  await app.register(referenceRoutes);
  await app.register(carrierRoutes, { admin: s.admin });
  await app.register(apiKeyRoutes, { admin: s.admin });
  await app.register(clockRoutes, { testClock: s.testClock, allowTestClock: config.allowTestClock });
  await app.register(accountRoutes, { billing: s.billing });
  await app.register(enrollmentRoutes, { billing: s.billing });
  await app.register(invoiceRoutes, { billing: s.billing });
  await app.register(paymentRoutes, { payments: s.payments });
  await app.register(opsPaymentRoutes, { payments: s.payments });
  await app.register(lockboxRoutes, {
    lockbox: s.lockbox,
    fingerprint: (body: unknown) => s.idempotency.fingerprint('POST', '/v1/ops/lockbox-deposits', { body }),
  });
  await app.register(carrierWorkRoutes, { carriers: s.carriers });
  await app.register(achRoutes, { ach: s.ach });
}

/** R10: record missed binder deadlines (and purge expired idempotency keys) in the background; reads never wait for it. */
function startBackgroundSweep(app: FastifyInstance, config: Config, s: Services) {
  const intervalMs = config.deadlineSweepIntervalMs;
  if (intervalMs <= 0) return;
  let running = false;
  const sweep = async () => {
    if (config.allowTestClock) await refreshTestClock(app, s);
    const [r, purged] = await Promise.all([s.billing.sweepMissedDeadlines(), s.idempotency.purgeExpired()]);
    if (r.enrollmentsMoved > 0 || r.standingsRecorded > 0 || r.enrollmentsFailed > 0 || purged > 0) {
      app.log.info(
        {
          enrollmentsMoved: r.enrollmentsMoved,
          standingsRecorded: r.standingsRecorded,
          enrollmentsFailed: r.enrollmentsFailed,
          idempotencyKeysPurged: purged,
        },
        'background sweep',
      );
    }
  };
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweep()
      .catch((err: Error & { code?: string }) =>
        app.log.warn({ err: { message: err.message, code: err.code } }, 'deadline sweep failed'),
      )
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const app = Fastify(serverOptions(opts)).withTypeProvider<TypeBoxTypeProvider>();
  app.addSchema(ProblemSchema);
  addShutdownHooks(app);
  const apiKeyCache = addApiKeyCache(app, opts);
  const services = buildServices(opts, app.log, apiKeyCache);
  app.decorate('clock', services.clock);
  addTestClockRefresh(app, opts.config, services, apiKeyCache);

  await registerPlugins(app, opts.config, services);
  await registerDocs(app);
  await registerMetrics(app, apiKeyCache);
  await registerRoutes(app, opts.config, services);
  startBackgroundSweep(app, opts.config, services);

  try {
    await apiKeyCache?.start();
    await app.ready();
  } catch (err) {
    await apiKeyCache?.close();
    throw err;
  }
  return app;
}
