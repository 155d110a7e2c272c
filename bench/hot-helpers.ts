/**
 * Two helpers every payment calls, timed alone (issue 16): the business date of an instant
 * (`businessDateOf`, R2) and a field encryption (`FieldCipher.encrypt`, a bank account number).
 * Each against the plain form it replaced (one `Intl` formatting per call; one `randomBytes` per nonce),
 * alternating rounds, medians of 7.
 *
 *   npx tsx bench/hot-helpers.ts
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { businessDateOf } from '../src/domain/dates.js';
import { FieldCipher } from '../src/store/crypto.js';

const N = 50_000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const time = (fn: () => void) => {
  const t0 = performance.now();
  fn();
  return ((performance.now() - t0) * 1000) / N; // µs per call
};
// Instants a day of payments would bring: spread over 48 hours, a few per second.
const instants = Array.from({ length: N }, (_, i) => new Date(Date.UTC(2026, 11, 22) + i * 3_456));
const formatter = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'America/New_York',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});
const plainDate = (d: Date) => {
  const p = formatter.formatToParts(d);
  const get = (type: string) => p.find((x) => x.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
};
const key = randomBytes(32);
const cipher = new FieldCipher([{ id: 'k', key }]);
const place = { column: 'payments.bank_account_ciphertext', rowId: 'pay_x' };
const plainEncrypt = () => {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(`${place.column}\0${place.rowId}`));
  return Buffer.concat([Buffer.of(1), iv, Buffer.concat([c.update('123456789', 'utf8'), c.final()]), c.getAuthTag()]);
};

const each = (fn: (d: Date) => unknown) => {
  for (const d of instants) fn(d);
};
const rounds = { datePlain: [] as number[], date: [] as number[], encPlain: [] as number[], enc: [] as number[] };
for (let r = 0; r < 7; r++) {
  rounds.datePlain.push(time(() => each(plainDate)));
  rounds.date.push(time(() => each((d) => businessDateOf(d))));
  rounds.encPlain.push(time(() => each(plainEncrypt)));
  rounds.enc.push(time(() => each(() => cipher.encrypt('123456789', place))));
}
const line = (name: string, plain: number[], now: number[]) =>
  `${name}: ${median(now).toFixed(2)} µs per call, was ${median(plain).toFixed(2)} µs (${(median(now) / median(plain)).toFixed(2)})`;
console.log(line('businessDateOf', rounds.datePlain, rounds.date));
console.log(line('FieldCipher.encrypt', rounds.encPlain, rounds.enc));
