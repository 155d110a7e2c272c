/**
 * A fresh database seeded through the API with what a bill shows (R32): a carrier, a member with a
 * mailing address, a checkout (its binder invoice) and a partial payment, served by the real app
 * (`buildApp`, in process). Shared by `bench/bill-sample.ts` and `bench/bill-render.ts`.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { ServiceClock } from '../src/infra/clock.js';
import { ApiKeyStore } from '../src/store/apiKeys.js';
import { benchDatabase } from './benchDatabase.js';

export interface BillApp {
  app: FastifyInstance;
  /** GET as ops; throws unless 200. */
  get(url: string): Promise<Buffer>;
  invoiceId: string;
  close(): Promise<void>;
}

export async function billApp(name: string): Promise<BillApp> {
  const { database, close } = await benchDatabase(name);
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_ENCRYPTION_KEY: `bench1:${Buffer.alloc(32, 7).toString('base64')}`,
    IDEMPOTENCY_HMAC_KEY: Buffer.alloc(32, 8).toString('base64'),
    ALLOW_TEST_CLOCK: 'true',
    DEADLINE_SWEEP_INTERVAL_MS: '0',
    RATE_LIMIT_PER_MINUTE: '1000000',
  });
  const clock = new ServiceClock();
  const app = await buildApp({ config, database, clock, logger: pino({ level: 'silent' }) });
  const { secret } = await new ApiKeyStore(database.db).create({ role: 'ops', carrierId: null, name: 'bill bench' });
  const call = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object, want = [200, 201]) => {
    const res = await app.inject({
      method,
      url,
      ...(payload ? { payload } : {}),
      headers: { authorization: `Bearer ${secret}`, 'idempotency-key': randomUUID() },
    });
    if (!want.includes(res.statusCode)) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res;
  };
  await call('PUT', '/v1/ops/clock', { now: '2026-12-10T15:00:00Z' });
  await call('POST', '/v1/carriers', { id: 'harbor', name: 'Harbor Health Plan' });
  await call('POST', '/v1/accounts', {
    memberId: '100200300400',
    firstName: 'Ana',
    lastName: 'Ferreira',
    mailingAddress: { line1: '77 Harbor Street', line2: 'Apt 4B', city: 'Worcester', state: 'MA', postalCode: '01608' },
    phoneNumbers: ['+16175550123'],
    paperless: false,
  });
  const enrollment = (
    await call('POST', '/v1/enrollments', {
      memberId: '100200300400',
      carrierId: 'harbor',
      coverageType: 'health',
      planName: 'Harbor Silver 2000',
      monthlyPremiumCents: 45012,
      coverageStart: '2027-01-01',
    })
  ).json() as { binderInvoiceId: string };
  const invoice = (await call('GET', `/v1/invoices/${enrollment.binderInvoiceId}`)).json() as { invoiceNumber: string };
  await call('POST', '/v1/payments', {
    channel: 'online',
    method: 'checking',
    amountCents: 10000,
    invoiceNumber: invoice.invoiceNumber,
    bankAccount: { routingNumber: '011000015', accountNumber: '000123456789' },
  });
  return {
    app,
    get: async (url) => (await call('GET', url)).rawPayload,
    invoiceId: enrollment.binderInvoiceId,
    close: async () => {
      await app.close();
      await close();
    },
  };
}
