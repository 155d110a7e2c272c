/**
 * The error catalogue: every refusal the domain can make, with a stable machine code.
 * The HTTP layer maps `kind` to a status; the domain never speaks HTTP.
 */
export type ErrorKind = 'not_found' | 'conflict' | 'rule' | 'invalid' | 'unauthorized' | 'forbidden' | 'unavailable';

export const ERROR_CATALOGUE = {
  not_found: { kind: 'not_found', title: 'Not found' },
  carrier_exists: { kind: 'conflict', title: 'Carrier already exists' },
  member_exists: { kind: 'conflict', title: 'Member already exists' },
  api_key_not_found: { kind: 'not_found', title: 'API key not found' },
  carrier_not_found: { kind: 'rule', title: 'Carrier not found' },
  account_not_found: { kind: 'rule', title: 'Account not found' },
  deadline_passed: { kind: 'rule', title: 'Payment deadline for this coverage start has passed' },
  invalid_coverage_start: { kind: 'invalid', title: 'Coverage starts on the first day of a month' },
  invalid_member_id: { kind: 'invalid', title: 'Member ID must be exactly 12 digits' },
  invalid_phone_number: { kind: 'invalid', title: 'Phone number must be E.164' },
  timestamp_in_future: { kind: 'rule', title: 'Timestamp is more than 5 minutes in the future' },
  timestamp_out_of_range: { kind: 'rule', title: 'Timestamp is outside its allowed range' },
  invalid_transition: { kind: 'conflict', title: 'Transition not allowed from the current state' },
  not_cancellable: { kind: 'conflict', title: 'Enrollment can no longer be cancelled' },
  not_awaiting_confirmation: { kind: 'conflict', title: 'Enrollment is not awaiting confirmation' },
  method_not_accepted: { kind: 'rule', title: 'Payment method not accepted on this channel' },
  carrier_scope_required: { kind: 'invalid', title: 'A carrier key must name its carrier' },
  card_number_not_allowed: { kind: 'rule', title: 'Full card numbers are never accepted' },
  payment_details_required: { kind: 'invalid', title: 'Payment method details are missing' },
  payment_details_mismatch: { kind: 'invalid', title: 'Payment details do not belong to the method' },
  invalid_routing_number: { kind: 'rule', title: 'Routing number fails the ABA check' },
  card_expired: { kind: 'rule', title: 'Card expired' },
  payee_mismatch: { kind: 'rule', title: 'Check or money order is not payable to Health Connector' },
  remittance_incomplete: { kind: 'rule', title: 'Remittance details are incomplete' },
  target_required: { kind: 'rule', title: 'The payment names no target' },
  target_not_allowed: { kind: 'rule', title: 'This target is not used on this channel' },
  target_ambiguous: { kind: 'rule', title: 'The payment target is ambiguous' },
  target_not_found: { kind: 'rule', title: 'The payment target was not found' },
  idempotency_key_required: { kind: 'invalid', title: 'Idempotency-Key header required' },
  idempotency_key_reused: { kind: 'rule', title: 'Idempotency-Key reused with a different request' },
  idempotency_key_in_flight: { kind: 'conflict', title: 'A request with this Idempotency-Key is in flight' },
  already_returned: { kind: 'conflict', title: 'Payment already returned' },
  last_ops_key: { kind: 'conflict', title: 'The only active ops key cannot be revoked' },
  invalid_reason_code: { kind: 'rule', title: 'Return reason code does not fit the payment method' },
  not_unapplied: { kind: 'conflict', title: 'Payment is not unapplied' },
  not_reinstatable: { kind: 'conflict', title: 'Enrollment was not terminated for non-payment' },
  reinstatement_window_closed: { kind: 'rule', title: 'The 35-day reinstatement window has closed' },
  reinstatement_payment_required: { kind: 'rule', title: 'Credit does not cover the premiums reinstatement needs' },
  control_total_mismatch: { kind: 'rule', title: "The deposit's items do not add up to its control totals" },
  duplicate_sequence: { kind: 'rule', title: 'A sequence number appears more than once in the deposit' },
  invalid_cursor: { kind: 'invalid', title: 'Unknown cursor' },
  body_too_deep: { kind: 'invalid', title: 'JSON body nested too deep' },
  invalid_character: { kind: 'invalid', title: 'Text holds a character that is not allowed' },
  duplicate_json_key: { kind: 'invalid', title: 'JSON object with a repeated member name' },
  forbidden_json_key: { kind: 'invalid', title: 'JSON object with a forbidden member name' },
  amount_too_large: { kind: 'rule', title: 'A bank payment cannot be larger than one ACH entry carries' },
  ach_file_limit_reached: { kind: 'rule', title: 'Every File ID Modifier of the day is used' },
  nothing_to_originate: { kind: 'rule', title: 'No bank payment is waiting for an ACH file' },
  invalid_effective_date: { kind: 'rule', title: 'The effective entry date is not allowed' },
  invalid_nacha_file: { kind: 'invalid', title: 'The body is not a Nacha return file' },
  // Infrastructure: nothing was changed, the same request can be sent again after `Retry-After`.
  database_timeout: { kind: 'unavailable', title: 'The database did not answer in time' },
} as const satisfies Record<string, { kind: ErrorKind; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly title: string;
  /** Extra problem members (e.g. `acceptedMethods`, `earliestCoverageStart`, `currentState`). */
  readonly extra: Record<string, unknown>;

  constructor(code: ErrorCode, detail?: string, extra: Record<string, unknown> = {}) {
    const entry = ERROR_CATALOGUE[code];
    super(detail ?? entry.title);
    this.name = 'DomainError';
    this.code = code;
    this.kind = entry.kind;
    this.title = entry.title;
    this.extra = extra;
  }
}

export function notFound(what: string, id: string): DomainError {
  return new DomainError('not_found', `${what} ${id} not found`);
}
