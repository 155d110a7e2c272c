import t from 'tap';
import {
  acceptsMethod,
  assertMethodAccepted,
  CHANNELS,
  type Channel,
  channelRules,
  PAYMENT_METHODS,
  type PaymentMethod,
} from '../../src/domain/channels.js';
import type { DomainError } from '../../src/domain/errors.js';
import { checkMethodDetails, type PaymentRequest } from '../../src/domain/payment.js';

const ACCEPTED: Record<Channel, PaymentMethod[]> = {
  online: ['checking', 'savings', 'credit_card', 'debit_card'],
  phone: ['checking', 'savings'],
  mail: ['check', 'money_order'],
};

t.test('R19: every (channel, method) pair is accepted exactly as the table says', async (t) => {
  for (const channel of CHANNELS) {
    for (const method of PAYMENT_METHODS) {
      const expected = ACCEPTED[channel].includes(method);
      t.equal(acceptsMethod(channel, method), expected, `${channel} ${method}`);
      if (expected) t.doesNotThrow(() => assertMethodAccepted(channel, method));
      else {
        const err = t.throws(() => assertMethodAccepted(channel, method)) as unknown as DomainError;
        t.equal(err.code, 'method_not_accepted');
        t.same(err.extra.acceptedMethods, ACCEPTED[channel]);
      }
    }
  }
});

t.test('R19: the channel table as data (what GET /v1/payment-channels shows)', async (t) => {
  const rows: {
    rule: string;
    name: string;
    channel: Channel;
    notAccepted: PaymentMethod[];
    extra: Record<string, unknown>;
  }[] = [
    {
      rule: 'R19',
      name: 'online refuses paypal and other electronic',
      channel: 'online',
      notAccepted: ['paypal', 'other_electronic'],
      extra: {},
    },
    {
      rule: 'R19',
      name: 'phone: what the seed says it does not take, and its numbers',
      channel: 'phone',
      notAccepted: ['check', 'money_order', 'cash', 'credit_card', 'debit_card'],
      extra: { phoneNumbers: { voice: '1-877-623-6765', tty: '1-877-623-7773' } },
    },
    {
      rule: 'R19',
      name: 'mail: payable to Health Connector, at the lockbox',
      channel: 'mail',
      notAccepted: ['cash', 'credit_card', 'debit_card'],
      extra: {
        payableTo: 'Health Connector',
        mailTo: { line1: 'P.O. BOX 412612', city: 'Boston', state: 'MA', postalCode: '02241-2612' },
      },
    },
  ];
  const table = channelRules();
  t.same(
    table.map((c) => c.channel),
    ['online', 'phone', 'mail'],
    'R19: three channels',
  );
  for (const r of rows) {
    const c = table.find((x) => x.channel === r.channel);
    const msg = `${r.rule}: ${r.name}`;
    t.same(c?.accepted, ACCEPTED[r.channel], `${msg}: accepted`);
    t.same(c?.notAccepted, r.notAccepted, `${msg}: notAccepted`);
    t.match(c, r.extra, msg);
    t.ok(
      c?.notAccepted.every((m) => !acceptsMethod(r.channel, m)),
      `${msg}: nothing listed as not accepted is accepted`,
    );
  }
});

// R20 and R22: the method's details, checked once the channel accepted the method (R19).
const NOW = new Date('2027-03-15T15:00:00Z');
const base = (over: Partial<PaymentRequest>): PaymentRequest => ({
  channel: 'online',
  method: 'checking',
  amountCents: 45000,
  ...over,
});
const bank = { routingNumber: '011000015', accountNumber: '000123456789' };
const card = (exp: { expMonth: number; expYear: number }) => ({
  token: 'tok_visa_4242',
  brand: 'visa' as const,
  last4: '4242',
  ...exp,
});
const check = (payableTo = 'Health Connector') => ({ checkNumber: '1042', payableTo });

interface DetailsRow {
  rule: string;
  name: string;
  req: PaymentRequest;
  now?: Date;
  /** 'ok' or the refusal code (and the field it names, where it names one). */
  expect: 'ok' | { code: string; field?: string };
}

const detailRows: DetailsRow[] = [
  {
    rule: 'R20',
    name: 'a checking payment with a valid routing number',
    req: base({ bankAccount: bank }),
    expect: 'ok',
  },
  {
    rule: 'R20',
    name: 'a savings payment by phone',
    req: base({ channel: 'phone', method: 'savings', bankAccount: bank }),
    expect: 'ok',
  },
  {
    rule: 'R20',
    name: 'a bank payment without its account',
    req: base({}),
    expect: { code: 'payment_details_required', field: 'bankAccount' },
  },
  {
    rule: 'R20',
    name: 'a routing number whose ABA check digit fails',
    req: base({ bankAccount: { ...bank, routingNumber: '011000016' } }),
    expect: { code: 'invalid_routing_number', field: 'bankAccount.routingNumber' },
  },
  {
    rule: 'R20',
    name: 'a bank payment that also carries a card',
    req: base({ bankAccount: bank, card: card({ expMonth: 12, expYear: 2030 }) }),
    expect: { code: 'payment_details_mismatch', field: 'card' },
  },
  {
    rule: 'R20',
    name: 'a card valid for years',
    req: base({ method: 'credit_card', card: card({ expMonth: 12, expYear: 2030 }) }),
    expect: 'ok',
  },
  {
    rule: 'R20',
    name: 'a card expiring at the end of this month is still good',
    req: base({ method: 'debit_card', card: card({ expMonth: 3, expYear: 2027 }) }),
    expect: 'ok',
  },
  {
    rule: 'R20',
    name: 'a card that expired at the end of last month: card_expired',
    req: base({ method: 'credit_card', card: card({ expMonth: 2, expYear: 2027 }) }),
    expect: { code: 'card_expired' },
  },
  {
    rule: 'R20',
    name: 'a card that expired last year (a later month number): card_expired',
    req: base({ method: 'credit_card', card: card({ expMonth: 12, expYear: 2026 }) }),
    expect: { code: 'card_expired' },
  },
  {
    rule: 'R20',
    name: 'a 12/2026 card on New Year’s Eve in Boston (already 1 January in UTC) is still good',
    req: base({ method: 'credit_card', card: card({ expMonth: 12, expYear: 2026 }) }),
    now: new Date('2027-01-01T03:00:00Z'),
    expect: 'ok',
  },
  {
    rule: 'R20',
    name: 'a card payment without its card',
    req: base({ method: 'debit_card' }),
    expect: { code: 'payment_details_required', field: 'card' },
  },
  {
    rule: 'R20',
    name: 'a card payment that carries a bank account',
    req: base({ method: 'credit_card', card: card({ expMonth: 12, expYear: 2030 }), bankAccount: bank }),
    expect: { code: 'payment_details_mismatch', field: 'bankAccount' },
  },
  {
    rule: 'R22',
    name: 'a check payable to Health Connector',
    req: base({ channel: 'mail', method: 'check', check: check() }),
    expect: 'ok',
  },
  {
    rule: 'R22',
    name: 'payee compared ignoring case and repeated spaces',
    req: base({ channel: 'mail', method: 'check', check: check('  health   CONNECTOR ') }),
    expect: 'ok',
  },
  {
    rule: 'R22',
    name: 'a check payable to someone else: payee_mismatch',
    req: base({ channel: 'mail', method: 'check', check: check('Blue Cross Blue Shield') }),
    expect: { code: 'payee_mismatch' },
  },
  {
    rule: 'R22',
    name: 'a money order payable to someone else: payee_mismatch',
    req: base({
      channel: 'mail',
      method: 'money_order',
      moneyOrder: { serialNumber: 'MO-1', payableTo: 'Health Connecter' },
    }),
    expect: { code: 'payee_mismatch' },
  },
  {
    rule: 'R22',
    name: 'a check without its details',
    req: base({ channel: 'mail', method: 'check' }),
    expect: { code: 'payment_details_required', field: 'check' },
  },
  {
    rule: 'R22',
    name: 'a money order without its details',
    req: base({ channel: 'mail', method: 'money_order' }),
    expect: { code: 'payment_details_required', field: 'moneyOrder' },
  },
  {
    rule: 'R22',
    name: 'a money order that carries check details',
    req: base({
      channel: 'mail',
      method: 'money_order',
      moneyOrder: { serialNumber: 'MO-1', payableTo: 'Health Connector' },
      check: check(),
    }),
    expect: { code: 'payment_details_mismatch', field: 'check' },
  },
];

t.test('R20/R22: method details', async (t) => {
  for (const r of detailRows) {
    const msg = `${r.rule}: ${r.name}`;
    const call = () => checkMethodDetails(r.req, r.now ?? NOW);
    if (r.expect === 'ok') {
      t.doesNotThrow(call, msg);
      continue;
    }
    const err = t.throws(call, msg) as unknown as DomainError;
    t.equal(err.code, r.expect.code, `${msg}: ${r.expect.code}`);
    if (r.expect.field) t.equal(err.extra.field, r.expect.field, `${msg}: names ${r.expect.field}`);
    t.notOk(JSON.stringify(err.extra).includes('000123456789'), `${msg}: R20 the account number is not echoed`);
  }
});
