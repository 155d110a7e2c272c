import type { ColumnType, Insertable, Selectable } from 'kysely';
import type { ReturnFileWarning } from '../domain/nachaReturnChecks.js';

/** Row types live beside their tables and never leave the store. */
/** A timestamptz with a database default. */
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export interface CarriersTable {
  id: string;
  name: string;
  name_key: string;
  created_at: CreatedAt;
}
export type CarrierRow = Selectable<CarriersTable>;
export type NewCarrierRow = Insertable<CarriersTable>;

export interface ApiKeysTable {
  id: string;
  secret_hash: Buffer;
  role: 'ops' | 'connector' | 'carrier';
  carrier_id: string | null;
  name: string;
  created_at: CreatedAt;
  revoked_at: NullableTimestamp;
}
export type ApiKeyRow = Selectable<ApiKeysTable>;

type Serial = ColumnType<number, never, never>;
type DateColumn = ColumnType<string, string, string>;
type WithDefault<T> = ColumnType<T, T | undefined, T>;

export interface AccountsTable {
  member_id: string;
  first_name: string;
  last_name: string;
  address_line1: string;
  address_line2: string | null;
  city: string;
  state: string;
  postal_code: string;
  phone_numbers: WithDefault<string[]>;
  paperless: WithDefault<boolean>;
  created_at: CreatedAt;
}
export type AccountRow = Selectable<AccountsTable>;

export interface EnrollmentsTable {
  id: WithDefault<string>;
  seq: Serial;
  member_id: string;
  carrier_id: string;
  coverage_type: 'health' | 'dental';
  plan_name: string;
  monthly_premium_cents: number;
  status: 'pending_payment' | 'awaiting_confirmation' | 'confirmed' | 'cancelled' | 'terminated';
  chosen_coverage_start: DateColumn;
  coverage_start: DateColumn;
  selected_at: Date;
  paid_in_full_at: NullableTimestamp;
  confirmation_expected_by: string | null;
  id_card_expected_by: string | null;
  confirmed_at: NullableTimestamp;
  carrier_policy_id: string | null;
  cancelled_at: NullableTimestamp;
  credit_cents: WithDefault<number>;
  flags: WithDefault<string[]>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  subsidy: WithDefault<'none' | 'aptc' | 'connectorcare'>;
  coverage_end: string | null;
  termination_reason: string | null;
  terminated_at: NullableTimestamp;
  terminated_on: string | null;
  status_before_termination: 'awaiting_confirmation' | 'confirmed' | null;
  delinquency_anchor: string | null;
  delinquency_stage: 'past_due' | 'termination_warning' | 'final_termination_warning' | null;
}
export type EnrollmentRow = Selectable<EnrollmentsTable>;

export interface EnrollmentHistoryTable {
  id: Serial;
  enrollment_id: string;
  at: Date;
  type: 'status_changed' | 'coverage_start_moved' | 'delinquency_changed';
  from_value: string | null;
  to_value: string;
  reason: string | null;
  actor: string;
}
export type EnrollmentHistoryRow = Selectable<EnrollmentHistoryTable>;

export interface InvoicesTable {
  id: WithDefault<string>;
  seq: Serial;
  invoice_number: WithDefault<string>;
  enrollment_id: string;
  member_id: string;
  coverage_month: DateColumn;
  due_date: DateColumn;
  amount_due_cents: number;
  amount_paid_cents: WithDefault<number>;
  credit_applied_cents: WithDefault<number>;
  is_binder: WithDefault<boolean>;
  delivery: 'paperless' | 'mail';
  issued_at: Date;
  voided_at: NullableTimestamp;
  status: ColumnType<'open' | 'partially_paid' | 'paid' | 'void', never, never>;
}
export type InvoiceRow = Selectable<InvoicesTable>;

export interface BillingRunsTable {
  id: WithDefault<string>;
  coverage_month: DateColumn;
  issued_count: number;
  credit_applied_cents: number;
  failed_count: WithDefault<number>;
  started_at: Date;
  finished_at: Date;
  actor: string;
}

export interface EventsTable {
  id: Serial;
  type: string;
  occurred_at: Date;
  carrier_id: string | null;
  member_id: string | null;
  enrollment_id: string | null;
  invoice_id: string | null;
  payment_id: string | null;
  data: ColumnType<Record<string, unknown>, string, string>;
  tx: ColumnType<string, never, never>;
}
export type EventRow = Selectable<EventsTable>;

export interface PaymentsTable {
  id: WithDefault<string>;
  seq: Serial;
  status: 'received' | 'unapplied' | 'returned';
  channel: 'online' | 'phone' | 'mail';
  method: string;
  amount_cents: number;
  received_at: Date;
  member_id: string | null;
  enrollment_id: string | null;
  guest: WithDefault<boolean>;
  target: ColumnType<Record<string, unknown>, string, string>;
  credited_cents: WithDefault<number>;
  unapplied_cents: WithDefault<number>;
  bank_routing_number: string | null;
  bank_account_last4: string | null;
  bank_account_ciphertext: Buffer | null;
  bank_account_key_id: string | null;
  card_token: string | null;
  card_brand: string | null;
  card_last4: string | null;
  card_exp_month: number | null;
  card_exp_year: number | null;
  check_number: string | null;
  money_order_serial: string | null;
  payable_to: string | null;
  returned_at: NullableTimestamp;
  return_reason_code: string | null;
  created_at: Date;
  actor: string;
  /** R35: the ACH file the payment went out in, and its trace number. */
  ach_file_id: ColumnType<string | null, string | null | undefined, string | null>;
  ach_trace_number: ColumnType<string | null, string | null | undefined, string | null>;
}
export type PaymentRow = Selectable<PaymentsTable>;

export interface PaymentApplicationsTable {
  id: Serial;
  payment_id: string;
  invoice_id: string;
  amount_cents: number;
  applied_at: Date;
  reversed_at: NullableTimestamp;
}

export interface IdempotencyKeysTable {
  api_key_id: string;
  key: string;
  request_hash: Buffer;
  response_status: number;
  response_body: ColumnType<unknown, string, string>;
  created_at: CreatedAt;
}

/** R34: one row per recorded lockbox deposit (migration 0014). */
export interface LockboxDepositsTable {
  deposit_id: string;
  deposit_date: DateColumn;
  item_count: number;
  total_cents: ColumnType<string, number, number>;
  request_hash: Buffer;
  answer: ColumnType<unknown, string, string>;
  actor: string;
  created_at: CreatedAt;
}

export interface NoticesTable {
  id: WithDefault<string>;
  seq: Serial;
  type: 'welcome_letter' | 'past_due' | 'termination_warning' | 'final_termination_warning' | 'termination';
  member_id: string;
  enrollment_id: string;
  status: WithDefault<'queued' | 'sent'>;
  created_at: Date;
  pay_by: ColumnType<string | null, string | null | undefined, string | null>;
  amount_owed_cents: ColumnType<number | null, number | null | undefined, number | null>;
  months_owed: ColumnType<string[] | null, string[] | null | undefined, string[] | null>;
  coverage_end: ColumnType<string | null, string | null | undefined, string | null>;
}

/** R35: one Nacha file; its body is stored encrypted only. */
export interface AchFilesTable {
  id: WithDefault<string>;
  seq: Serial;
  created_at: Date;
  created_by: string;
  effective_date: ColumnType<string, string, string>;
  file_id_modifier: string;
  entry_count: number;
  batch_count: number;
  total_debit_cents: number;
  entry_hash: string;
  body_ciphertext: Buffer;
  body_key_id: string;
}

export interface AchFileDownloadsTable {
  id: Serial;
  file_id: string;
  api_key_id: string;
  downloaded_at: Date;
}

/** R36: each return file received, by its SHA-256. */
export interface AchReturnFilesTable {
  id: WithDefault<string>;
  sha256: Buffer;
  received_at: Date;
  received_by: string;
  return_count: number;
  notification_count: number;
  /** R36 integrity warnings found when first received (migration 0023); null for files recorded before. */
  warnings: ColumnType<ReturnFileWarning[] | null, string | null | undefined, string | null>;
}

/** The test clock's frozen instant, shared by every instance (ALLOW_TEST_CLOCK=true only; migration 0016). */
export interface TestClockTable {
  id: WithDefault<boolean>;
  frozen_at: Date;
}

/** Requests leased per rate-limit key in its current window, by all instances together (migration 0016). */
export interface RateLimitLeasesTable {
  key: string;
  window_start: number;
  used: number;
  last_grant: number;
}

export interface DB {
  test_clock: TestClockTable;
  rate_limit_leases: RateLimitLeasesTable;
  ach_files: AchFilesTable;
  ach_file_downloads: AchFileDownloadsTable;
  ach_return_files: AchReturnFilesTable;
  notices: NoticesTable;
  payments: PaymentsTable;
  payment_applications: PaymentApplicationsTable;
  idempotency_keys: IdempotencyKeysTable;
  lockbox_deposits: LockboxDepositsTable;
  carriers: CarriersTable;
  api_keys: ApiKeysTable;
  accounts: AccountsTable;
  enrollments: EnrollmentsTable;
  enrollment_history: EnrollmentHistoryTable;
  invoices: InvoicesTable;
  billing_runs: BillingRunsTable;
  events: EventsTable;
}
