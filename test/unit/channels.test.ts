import t from 'tap';
import {
  acceptsMethod,
  assertMethodAccepted,
  CHANNELS,
  type Channel,
  PAYMENT_METHODS,
  type PaymentMethod,
} from '../../src/domain/channels.js';
import type { DomainError } from '../../src/domain/errors.js';

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
