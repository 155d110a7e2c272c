import { sql } from 'kysely';
import t from 'tap';
import { anotherInstance, testApp } from '../helpers/app.js';
import { newAccount, newCarrier, newEnrollment, setClock } from '../helpers/factories.js';
import { readNacha, returnFile } from '../helpers/nacha.js';
import { bankAccount, card, getPayment, type PaymentJson, pay, payOk } from '../helpers/payments.js';

// R35 at the edges of the Nacha format (review of issue 15, findings 1, 2, 5, 6): the 10-digit entry
// amount, the 12-digit batch and file totals, the 22-character individual name and the one-character
// File ID Modifier. A file is never refused with a 500 because of one payment, and no limit is passed.

const ctx = await testApp(t);
await setClock(ctx, '2026-12-04T15:00:00Z');
const carrier = await newCarrier(ctx);
const enrollment = await newEnrollment(ctx, { carrierId: carrier.id });
const ops = await ctx.newKey('ops');

const MAX_ENTRY_CENTS = 9_999_999_999;
const bank = (amountCents: number, enrollmentId = enrollment.id, channel: 'online' | 'phone' = 'online') => ({
  channel,
  method: 'checking',
  amountCents,
  enrollmentId,
  ...bankAccount(),
});
const createFile = () => ctx.request({ method: 'POST', url: '/v1/ops/ach-files', key: ops.secret, payload: {} });
const download = async (id: string) =>
  readNacha((await ctx.request({ method: 'GET', url: `/v1/ops/ach-files/${id}`, key: ops.secret })).body);

t.test('a bank payment larger than a Nacha entry can carry is refused before anything is recorded', async (t) => {
  for (const channel of ['online', 'phone'] as const) {
    const res = await pay(ctx, bank(10_000_000_000, enrollment.id, channel));
    t.equal(res.statusCode, 422, `${channel}: ${res.body}`);
    t.equal(res.json().code, 'amount_too_large');
    t.equal(res.json().maximumCents, MAX_ENTRY_CENTS);
  }
  const pays = await ctx.database.db.selectFrom('payments').select('id').execute();
  t.equal(pays.length, 0, 'nothing recorded');
  // A card or a check of the same amount is not an ACH debit: the schema's own limit applies.
  const check = await pay(ctx, {
    channel: 'online',
    method: 'credit_card',
    amountCents: 10_000_000_000,
    enrollmentId: enrollment.id,
    ...card(),
  });
  t.not(check.json().code, 'amount_too_large', 'cards are not held to the Nacha limit');

  const largest = await payOk(ctx, bank(MAX_ENTRY_CENTS));
  const file = await createFile();
  t.equal(file.statusCode, 201, file.body);
  const read = await download(file.json().id);
  t.equal(read.batches[0]?.entries[0]?.amountCents, MAX_ENTRY_CENTS, 'the largest amount fits its entry');
  t.equal((await getPayment(ctx, largest.id)).achFileId, file.json().id);
});

t.test('an ACH file id whose random hex holds a Luhn-valid run is an id, not a card number', async (t) => {
  // About one id in 250 holds 13+ decimal digits in a row that pass Luhn: such a file must download.
  const res = await ctx.request({
    method: 'GET',
    url: '/v1/ops/ach-files/ach_4111111111111111abcdefabcdefabcd',
    key: ops.secret,
  });
  t.equal(res.statusCode, 404, res.body);
});

t.test('totals that would pass 12 digits: the file closes and the rest waits for the next file', async (t) => {
  // 100 entries of 9,999,999,999 make 999,999,999,900: the most one file (and one batch) can hold.
  const made: PaymentJson[] = [];
  for (let i = 0; i < 101; i++) made.push(await payOk(ctx, bank(MAX_ENTRY_CENTS)));
  const first = await createFile();
  t.equal(first.statusCode, 201, first.body);
  t.equal(first.json().entryCount, 100);
  t.equal(first.json().totalDebitCents, 100 * MAX_ENTRY_CENTS);
  t.equal(first.json().pendingAfter, 1, 'the answer says a payment is left for the next file');
  const read = await download(first.json().id);
  t.equal(read.control.debit, 999_999_999_900, 'file total fits its 12 digits');
  t.ok(read.lines.every((l) => l.length === 94));
  const second = await createFile();
  t.equal(second.statusCode, 201, second.body);
  t.equal(second.json().entryCount, 1);
  t.equal(second.json().pendingAfter, 0);
  const shown = await Promise.all(made.map((p) => getPayment(ctx, p.id)));
  t.equal(shown.filter((p) => p.achFileId === first.json().id).length, 100);
  t.equal(shown.filter((p) => p.achFileId === second.json().id).length, 1, 'every payment in exactly one file');
  t.equal(shown.filter((p) => p.achFileId === null).length, 0);
  t.equal((await createFile()).json().code, 'nothing_to_originate');
});

t.test('names Nacha cannot spell are transliterated, never left blank', async (t) => {
  const people = [
    { firstName: '太郎', lastName: '山田' },
    { firstName: 'Ωμέγα', lastName: 'Σίσυφος' },
    { firstName: 'Анна', lastName: 'Иванова' },
  ];
  const made: { memberId: string; payment: PaymentJson }[] = [];
  for (const p of people) {
    const account = await newAccount(ctx, p);
    const e = await newEnrollment(ctx, { memberId: account.memberId, carrierId: carrier.id });
    made.push({ memberId: account.memberId, payment: await payOk(ctx, bank(45000, e.id)) });
  }
  const file = await createFile();
  t.equal(file.statusCode, 201, file.body);
  const entries = (await download(file.json().id)).batches.flatMap((b) => b.entries);
  for (const [i, m] of made.entries()) {
    const trace = (await getPayment(ctx, m.payment.id)).traceNumber;
    const entry = entries.find((e) => e.trace === trace);
    t.ok(entry, `entry ${i}`);
    t.match(
      entry?.individualName ?? '',
      /^[A-Z0-9][A-Z0-9 .,'&/-]*$/,
      `${people[i]?.lastName}: ${entry?.individualName}`,
    );
    t.equal(entry?.individualId.trim(), m.memberId);
  }
  t.ok(
    entries.some((e) => /^OMEGA SISYFOS/.test(e.individualName)),
    'Greek is transliterated',
  );
  t.ok(
    entries.some((e) => /ANNA IVANOVA/.test(e.individualName)),
    'Cyrillic is transliterated',
  );
});

t.test('the 37th file of one day is refused: its File ID Modifier would repeat', async (t) => {
  const before = (await ctx.request({ method: 'GET', url: '/v1/ops/ach-files?limit=500', key: ops.secret })).json().data
    .length as number;
  const modifiers: string[] = [];
  for (let i = before; i < 36; i++) {
    await payOk(ctx, bank(100 + i));
    const res = await createFile();
    t.equal(res.statusCode, 201, res.body);
    modifiers.push(res.json().fileIdModifier);
  }
  await payOk(ctx, bank(777));
  const refused = await createFile();
  t.equal(refused.statusCode, 422, refused.body);
  t.equal(refused.json().code, 'ach_file_limit_reached');
  const all = (await ctx.request({ method: 'GET', url: '/v1/ops/ach-files?limit=500', key: ops.secret })).json()
    .data as {
    fileIdModifier: string;
  }[];
  t.equal(new Set(all.map((f) => f.fileIdModifier)).size, 36, 'A..Z and 0..9, each once');
  // The next business day starts again at A, and the payment left waiting goes out then.
  await setClock(ctx, '2026-12-07T15:00:00Z');
  const next = await createFile();
  t.equal(next.statusCode, 201, next.body);
  t.equal(next.json().fileIdModifier, 'A');
  t.equal(next.json().entryCount, 1);
});

t.test('copies of one return file sent at once: one applies, the others say repeat', async (t) => {
  await setClock(ctx, '2026-12-08T15:00:00Z');
  const e = await newEnrollment(ctx, { carrierId: carrier.id });
  const p = await payOk(ctx, bank(45000, e.id));
  t.equal((await createFile()).statusCode, 201);
  const trace = String((await getPayment(ctx, p.id)).traceNumber);
  const text = returnFile([{ originalTrace: trace, code: 'R01', amountCents: 45000 }]);
  const answers = await Promise.all(
    Array.from({ length: 4 }, () =>
      ctx.request({
        method: 'POST',
        url: '/v1/ops/ach-returns',
        key: ops.secret,
        payload: text,
        headers: { 'content-type': 'text/plain' },
      }),
    ),
  );
  for (const a of answers) t.equal(a.statusCode, 200, a.body);
  const bodies = answers.map((a) => a.json());
  t.equal(bodies.filter((b) => b.repeat === false).length, 1, 'exactly one copy is the first');
  t.equal(bodies.flatMap((b) => b.returns).filter((r: { outcome: string }) => r.outcome === 'returned').length, 1);
  t.equal(new Set(bodies.map((b) => b.id)).size, 1, 'one file record');
  t.equal((await getPayment(ctx, p.id)).status, 'returned');
});

t.test('one return file sent four times at once over two instances is applied by one copy, whole', async (t) => {
  // Found by the issue-16 black-box run: four copies of a 40-entry file at once split its returns
  // between them; the first answer listed half of its own returns as already_returned and answers
  // marked repeat had applied returns.
  await setClock(ctx, '2026-12-08T16:00:00Z');
  const other = await anotherInstance(t, ctx);
  const payments: PaymentJson[] = [];
  for (let i = 0; i < 30; i++) {
    const e = await newEnrollment(ctx, { carrierId: carrier.id });
    payments.push(await payOk(ctx, bank(45000, e.id)));
  }
  t.equal((await createFile()).statusCode, 201);
  const items: { originalTrace: string; code: string; amountCents: number }[] = [];
  for (const p of payments) {
    items.push({ originalTrace: String((await getPayment(ctx, p.id)).traceNumber), code: 'R01', amountCents: 45000 });
  }
  const text = returnFile(items);
  const send = (instance: typeof ctx) =>
    instance.request({
      method: 'POST',
      url: '/v1/ops/ach-returns',
      key: ops.secret,
      payload: text,
      headers: { 'content-type': 'text/plain' },
    });
  // The first copy is under way (some of its returns applied) when the three others arrive.
  const firstCopy = send(ctx);
  const returnedSoFar = async () =>
    Number(
      (
        await sql<{
          n: string;
        }>`select count(*) as n from payments where status = 'returned' and id = any(${payments.map((p) => p.id)})`.execute(
          ctx.database.db,
        )
      ).rows[0]?.n,
    );
  while ((await returnedSoFar()) < 3) await new Promise((r) => setTimeout(r, 2));
  const answers = await Promise.all([firstCopy, send(other), send(ctx), send(other)]);
  for (const a of answers) t.equal(a.statusCode, 200, a.body);
  const bodies = answers.map((a) => a.json() as { repeat: boolean; returns: { outcome: string }[] });
  const outcomes = (b: (typeof bodies)[number]) => [...new Set(b.returns.map((r) => r.outcome))];
  const first = bodies.filter((b) => !b.repeat);
  t.equal(first.length, 1, 'exactly one copy is the first');
  t.same(outcomes(first[0] as (typeof bodies)[number]), ['returned'], 'and it applied every return of its file');
  for (const b of bodies.filter((x) => x.repeat)) t.same(outcomes(b), ['already_returned'], 'a repeat changed nothing');
  for (const p of payments) t.equal((await getPayment(ctx, p.id)).status, 'returned');
});

t.test(
  'a return file with a byte-order mark, CR line ends or blanks after its records is read as the same file',
  async (t) => {
    // Issue-16 black-box run (second round): such a body was not recognised as a Nacha file, so the
    // card screen ran on it and answered 422 card_number_not_allowed (Windows tools write a BOM).
    await setClock(ctx, '2026-12-08T17:00:00Z');
    const e = await newEnrollment(ctx, { carrierId: carrier.id });
    const p = await payOk(ctx, bank(45000, e.id));
    t.equal((await createFile()).statusCode, 201);
    const trace = String((await getPayment(ctx, p.id)).traceNumber);
    const text = returnFile([{ originalTrace: trace, code: 'R01', amountCents: 45000 }]);
    const post = (body: string) =>
      ctx.request({
        method: 'POST',
        url: '/v1/ops/ach-returns',
        key: ops.secret,
        payload: body,
        headers: { 'content-type': 'text/plain' },
      });
    const first = await post(`\ufeff${text.replace(/\n/g, '\r')}`);
    t.equal(first.statusCode, 200, first.body);
    t.equal(first.json().repeat, false);
    t.same(
      first.json().returns.map((r: { outcome: string }) => r.outcome),
      ['returned'],
    );
    t.same(first.json().warnings, [], 'and it is a clean file');
    for (const [label, body] of [
      ['the same file as written', text],
      ['with CRLF', text.replace(/\n/g, '\r\n')],
      ['with blanks after each record', text.replace(/\n/g, '  \n')],
      ['with blank lines at the end', `${text}\n  \n\n`],
    ] as const) {
      const again = await post(body);
      t.equal(again.statusCode, 200, `${label}: ${again.body}`);
      t.equal(again.json().repeat, true, `${label}: the same file again`);
      t.equal(again.json().id, first.json().id, label);
    }
    const broken = await post(text.replace(/\n/g, ' x\n'));
    t.ok([400, 422].includes(broken.statusCode), 'text after a record is no blank: refused');
    t.ok(['invalid_nacha_file', 'card_number_not_allowed'].includes(broken.json().code), broken.json().code);
  },
);

t.test('trace numbers wrap after 9,999,999 and a return names the most recent payment with its trace', async (t) => {
  await setClock(ctx, '2026-12-09T15:00:00Z');
  const e = await newEnrollment(ctx, { carrierId: carrier.id });
  const old = await payOk(ctx, bank(100, e.id));
  t.equal((await createFile()).statusCode, 201);
  const oldTrace = String((await getPayment(ctx, old.id)).traceNumber);
  const oldSequence = Number(oldTrace.slice(8));
  // The sequence is about to run out: the next entries take 9999999, then 1, 2, ... again.
  await sql`select setval('ach_trace_seq', 9999998)`.execute(ctx.database.db);
  const made = [];
  for (let i = 0; i < oldSequence + 1; i++) made.push(await payOk(ctx, bank(200 + i, e.id)));
  const file = await createFile();
  t.equal(file.statusCode, 201, file.body);
  const read = await download(file.json().id);
  const traces = read.batches.flatMap((b) => b.entries.map((x) => x.trace));
  t.equal(new Set(traces).size, traces.length, 'unique within the file');
  t.ok(traces.includes(oldTrace), 'the old trace number comes round again');
  const reused = (await Promise.all(made.map((p) => getPayment(ctx, p.id)))).find((p) => p.traceNumber === oldTrace);
  const res = await ctx.request({
    method: 'POST',
    url: '/v1/ops/ach-returns',
    key: ops.secret,
    payload: returnFile([{ originalTrace: oldTrace, code: 'R01' }], { original: read }),
    headers: { 'content-type': 'text/plain' },
  });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().returns[0]?.paymentId, reused?.id, 'the return is for the recent payment');
  t.equal((await getPayment(ctx, old.id)).status, 'received', 'the old one is left alone');
});
