import { randomBytes } from 'node:crypto';
import type { TestContext } from './app.js';

const suffix = () => randomBytes(3).toString('hex');

export async function newCarrier(ctx: TestContext, overrides: { id?: string; name?: string } = {}) {
  const id = overrides.id ?? `carrier-${suffix()}`;
  const res = await ctx.request({
    method: 'POST',
    url: '/v1/carriers',
    payload: { id, name: overrides.name ?? `Carrier ${id}` },
  });
  if (res.statusCode !== 201) throw new Error(`newCarrier failed: ${res.statusCode} ${res.body}`);
  return res.json() as { id: string; name: string };
}

let memberCounter = 0;
/** A fresh 12-digit Member ID, unique within this process. */
export function newMemberId(): string {
  memberCounter++;
  return `${String(process.pid % 1000).padStart(3, '0')}${String(Date.now() % 1_000_000).padStart(6, '0')}${String(memberCounter).padStart(3, '0')}`.slice(
    0,
    12,
  );
}

export async function newAccount(ctx: TestContext, overrides: Record<string, unknown> = {}) {
  const payload = {
    memberId: newMemberId(),
    firstName: 'Maria',
    lastName: 'Santos',
    mailingAddress: { line1: '1 Ashburton Place', city: 'Boston', state: 'MA', postalCode: '02108' },
    phoneNumbers: [`+1617555${String(Math.floor(Math.random() * 10000)).padStart(4, '0')}`],
    paperless: false,
    ...overrides,
  };
  const res = await ctx.request({ method: 'POST', url: '/v1/accounts', payload });
  if (res.statusCode !== 201) throw new Error(`newAccount failed: ${res.statusCode} ${res.body}`);
  return res.json() as {
    memberId: string;
    firstName: string;
    lastName: string;
    phoneNumbers: string[];
    paperless: boolean;
  };
}

export interface EnrollmentJson {
  id: string;
  memberId: string;
  carrierId: string;
  status: string;
  coverageStart: string;
  chosenCoverageStart: string;
  paymentDueDate: string;
  binderInvoiceId: string;
  creditCents: number;
  flags: string[];
  paidInFullAt: string | null;
  confirmationExpectedBy: string | null;
  idCardExpectedBy: string | null;
  confirmedAt: string | null;
  confirmationOverdue: boolean;
  history: { at: string; type: string; from: string | null; to: string; reason: string | null; actor: string }[];
  [k: string]: unknown;
}

/** Account + carrier (unless given) + checkout. */
export async function newEnrollment(
  ctx: TestContext,
  overrides: { memberId?: string; carrierId?: string; paperless?: boolean; [k: string]: unknown } = {},
): Promise<EnrollmentJson> {
  const { paperless, ...rest } = overrides;
  const memberId = overrides.memberId ?? (await newAccount(ctx, paperless === undefined ? {} : { paperless })).memberId;
  const carrierId = overrides.carrierId ?? (await newCarrier(ctx)).id;
  const res = await ctx.request({
    method: 'POST',
    url: '/v1/enrollments',
    payload: {
      coverageType: 'health',
      planName: 'ConnectorCare Plan Type II',
      monthlyPremiumCents: 45000,
      ...rest,
      memberId,
      carrierId,
    },
  });
  if (res.statusCode !== 201) throw new Error(`newEnrollment failed: ${res.statusCode} ${res.body}`);
  return res.json() as EnrollmentJson;
}

export async function setClock(ctx: TestContext, now: string) {
  const res = await ctx.request({ method: 'PUT', url: '/v1/ops/clock', payload: { now } });
  if (res.statusCode !== 200) throw new Error(`setClock failed: ${res.statusCode} ${res.body}`);
}

/**
 * Until the payments API exists in a test's path, this marks a binder paid in the database the way
 * a full payment would (amounts and status); payment tests use the API instead.
 */
export async function markPaidInFull(
  ctx: TestContext,
  enrollmentId: string,
  paidAt: string,
  confirmationExpectedBy: string,
) {
  await ctx.database.db
    .updateTable('invoices')
    .set((eb) => ({ amount_paid_cents: eb.ref('amount_due_cents') }))
    .where('enrollment_id', '=', enrollmentId)
    .where('is_binder', '=', true)
    .execute();
  await ctx.database.db
    .updateTable('enrollments')
    .set({
      status: 'awaiting_confirmation',
      paid_in_full_at: new Date(paidAt),
      confirmation_expected_by: confirmationExpectedBy,
    })
    .where('id', '=', enrollmentId)
    .execute();
}
