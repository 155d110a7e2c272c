import t from 'tap';
import { testApp } from '../helpers/app.js';
import { newAccount, newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import { hashOf, readNacha } from '../helpers/nacha.js';
import { bankAccount, card, getPayment, type PaymentJson, payOk, VALID_ROUTING } from '../helpers/payments.js';

// R35: bank debits go out in Nacha files. Each file is read back with an independent reader
// (test/helpers/nacha.ts) and checked against the payments this test made.

const ctx = await testApp(t);
await setClock(ctx, '2026-12-04T15:00:00Z'); // a Friday: the default effective date is Monday 2026-12-07
const carrier = await newCarrier(ctx, { name: 'Harbor Health Plan' });
const account = await newAccount(ctx, { firstName: 'José', lastName: 'da Conceição' });
const enrollment = await newEnrollment(ctx, { memberId: account.memberId, carrierId: carrier.id });
const ops = await ctx.newKey('ops');

interface FileJson {
  id: string;
  createdAt: string;
  createdBy: string;
  effectiveDate: string;
  fileIdModifier: string;
  entryCount: number;
  batchCount: number;
  totalDebitCents: number;
  entryHash: string;
  downloads: { apiKeyId: string; downloadedAt: string }[];
}

const bankPay = (channel: 'online' | 'phone', method: 'checking' | 'savings', amountCents: number, n = 0) =>
  payOk(ctx, {
    channel,
    method,
    amountCents,
    enrollmentId: enrollment.id,
    ...bankAccount(`12345${String(n).padStart(6, '0')}`, VALID_ROUTING[n % VALID_ROUTING.length]),
  });
const createFile = (payload?: Record<string, unknown>, key = ops.secret) =>
  ctx.request({ method: 'POST', url: '/v1/ops/ach-files', key, ...(payload ? { payload } : {}) });
const download = (id: string, key = ops.secret) => ctx.request({ method: 'GET', url: `/v1/ops/ach-files/${id}`, key });

t.test('a file holds every bank payment: WEB and TEL batches, codes, hashes and totals', async (t) => {
  const payments = [
    await bankPay('online', 'checking', 20000, 1),
    await bankPay('online', 'savings', 1500, 2),
    await bankPay('phone', 'checking', 3000, 3),
    await bankPay('phone', 'savings', 7, 4),
  ];
  // Not bank debits: a card payment and a mailed check stay out of every file.
  const cardPayment = await payOk(ctx, {
    channel: 'online',
    method: 'debit_card',
    amountCents: 100,
    enrollmentId: enrollment.id,
    ...card(),
  });
  const res = await createFile();
  t.equal(res.statusCode, 201, res.body);
  const file = res.json() as FileJson;
  t.match(file, {
    effectiveDate: '2026-12-07',
    fileIdModifier: 'A',
    entryCount: 4,
    batchCount: 2,
    totalDebitCents: 24507,
    createdBy: ops.id,
    downloads: [],
  });

  const got = await download(file.id);
  t.equal(got.statusCode, 200);
  t.match(String(got.headers['content-type']), /^text\/plain/);
  t.equal(got.headers['cache-control'], 'no-store');
  const read = readNacha(got.body);
  t.ok(
    read.lines.every((l) => l.length === 94),
    'every record is 94 characters',
  );
  t.equal(read.lines.length % 10, 0, 'line count is a multiple of 10');
  t.equal(read.header.destination, ' 011000015', 'immediate destination from configuration');
  t.equal(read.header.origin, '1000000000', 'immediate origin from configuration');
  t.equal(read.header.date, '261204');
  t.same(
    read.batches.map((b) => [b.secCode, b.companyName, b.effectiveDate, b.entries.map((e) => e.transactionCode)]),
    [
      ['WEB', 'HEALTH CONNECTOR', '261207', ['27', '37']],
      ['TEL', 'HEALTH CONNECTOR', '261207', ['27', '37']],
    ],
    'WEB for online, TEL for phone; 27 checking, 37 savings',
  );
  const entries = read.batches.flatMap((b) => b.entries);
  const shown = await Promise.all(payments.map((p) => getPayment(ctx, p.id)));
  for (const [i, p] of shown.entries()) {
    t.equal(p.achFileId, file.id, `payment ${i} shows its file`);
    const entry = entries.find((e) => e.trace === p.traceNumber);
    t.ok(entry, `payment ${i}'s trace number ${String(p.traceNumber)} is in the file`);
    t.equal(entry?.amountCents, payments[i]?.amountCents);
    t.equal(entry?.routing, VALID_ROUTING[(i + 1) % VALID_ROUTING.length]);
    t.equal(entry?.account, `12345${String(i + 1).padStart(6, '0')}`, 'the full account number is in the file');
    t.equal(entry?.individualId, account.memberId, 'the Member ID is the individual id');
    t.equal(entry?.individualName, 'JOSE DA CONCEICAO');
    t.match(String(p.traceNumber), /^01100001\d{7}$/, 'ODFI routing 8 digits + 7-digit sequence');
  }
  t.equal(new Set(entries.map((e) => e.trace)).size, 4, 'trace numbers unique');
  for (const b of read.batches) {
    t.same(
      [b.control.count, b.control.debit, b.control.credit, b.control.hash],
      [b.entries.length, b.entries.reduce((s, e) => s + e.amountCents, 0), 0, hashOf(b.entries.map((e) => e.routing))],
      `${b.secCode} batch control`,
    );
  }
  t.same(read.control, {
    batches: 2,
    blocks: read.lines.length / 10,
    entries: 4,
    hash: hashOf(payments.map((_, i) => VALID_ROUTING[(i + 1) % VALID_ROUTING.length] as string)),
    debit: 24507,
    credit: 0,
  });
  t.equal((await getPayment(ctx, cardPayment.id)).achFileId, null, 'card payments are not ACH debits');

  const again = await createFile({});
  t.equal(again.statusCode, 422);
  t.equal(again.json().code, 'nothing_to_originate');
});

t.test('downloads are recorded; only ops may list, create or download', async (t) => {
  await bankPay('online', 'checking', 100, 5);
  const file = (await createFile({ effectiveDate: '2026-12-09' })).json() as FileJson;
  t.equal(file.effectiveDate, '2026-12-09', 'a given effective date is used');
  t.equal(file.fileIdModifier, 'B', 'the second file of the day');
  const other = await ctx.newKey('ops');
  t.equal((await download(file.id, other.secret)).statusCode, 200);
  t.equal((await download(file.id)).statusCode, 200);
  const list = await ctx.request({ method: 'GET', url: '/v1/ops/ach-files?limit=500', key: ops.secret });
  t.equal(list.statusCode, 200);
  const listed = (list.json().data as FileJson[]).find((f) => f.id === file.id);
  t.same(
    listed?.downloads.map((d) => d.apiKeyId),
    [other.id, ops.id],
    'each download: who, in order',
  );
  t.ok(
    listed?.downloads.every((d) => !Number.isNaN(Date.parse(d.downloadedAt))),
    'and when',
  );
  t.notOk(list.body.includes('12345000005'), 'the list shows no account number');

  const connector = await ctx.newKey('connector');
  const carrierKey = await ctx.newKey('carrier', carrier.id);
  for (const key of [connector.secret, carrierKey.secret]) {
    t.equal((await download(file.id, key)).statusCode, 403, 'download is ops only');
    t.equal((await createFile({}, key)).statusCode, 403, 'create is ops only');
    t.equal((await ctx.request({ method: 'GET', url: '/v1/ops/ach-files', key })).statusCode, 403);
  }
  const after = (await ctx.request({ method: 'GET', url: `/v1/ops/ach-files?limit=500`, key: ops.secret })).json()
    .data as FileJson[];
  t.equal(after.find((f) => f.id === file.id)?.downloads.length, 2, 'refused downloads are not recorded');
  t.equal((await download('ach_unknown')).statusCode, 404);
});

t.test('effective dates: past, today, weekends and holidays are refused', async (t) => {
  await bankPay('online', 'checking', 100, 6);
  for (const effectiveDate of ['2026-12-03', '2026-12-04', '2026-12-05', '2026-12-25', '2027-02-01']) {
    const res = await createFile({ effectiveDate });
    t.equal(res.statusCode, 422, effectiveDate);
    t.equal(res.json().code, 'invalid_effective_date', effectiveDate);
    t.equal(res.json().earliestEffectiveDate, '2026-12-07');
  }
  t.equal((await createFile({ effectiveDate: 'soon' })).statusCode, 400, 'not a date: 400');
  t.equal((await createFile({ unknown: 1 })).statusCode, 400, 'unknown fields: 400');
  t.equal((await createFile()).statusCode, 201, 'the pending payment is still sent');
});

t.test('files created concurrently: every payment in exactly one file', async (t) => {
  const made: PaymentJson[] = [];
  for (let i = 0; i < 3; i++) made.push(await bankPay(i % 2 ? 'phone' : 'online', 'checking', 100 + i, 10 + i));
  const answers = await Promise.all(
    Array.from({ length: 5 }, async (_, i) => {
      made.push(await bankPay(i % 2 ? 'online' : 'phone', 'savings', 200 + i, 20 + i));
      return createFile();
    }),
  );
  for (const r of answers) t.ok([201, 422].includes(r.statusCode), `${r.statusCode} ${r.body}`);
  const last = await createFile();
  t.ok([201, 422].includes(last.statusCode));
  const fileIds = [...answers, last].filter((r) => r.statusCode === 201).map((r) => (r.json() as FileJson).id);
  t.ok(fileIds.length >= 1, `${fileIds.length} files made`);
  const traces: string[] = [];
  const modifiers = new Set<string>();
  for (const id of fileIds) {
    const read = readNacha((await download(id)).body);
    traces.push(...read.batches.flatMap((b) => b.entries.map((e) => e.trace)));
    modifiers.add(read.header.modifier);
  }
  t.equal(modifiers.size, fileIds.length, 'each file has its own file id modifier');
  t.equal(new Set(traces).size, traces.length, 'no entry in two files');
  const shown = await Promise.all(made.map((p) => getPayment(ctx, p.id)));
  t.same(
    traces.sort(),
    shown.map((p) => p.traceNumber).sort(),
    'the union of the entries is exactly the payments made',
  );
  t.ok(
    shown.every((p) => p.achFileId !== null && fileIds.includes(p.achFileId as string)),
    'every payment names its file',
  );
});
