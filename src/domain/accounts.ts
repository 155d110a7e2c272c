import { DomainError } from './errors.js';

export interface MailingAddress {
  line1: string;
  line2?: string | undefined;
  city: string;
  state: string;
  postalCode: string;
}

/** R5: an account is a household, identified by the primary subscriber's Member ID. */
export interface Account {
  memberId: string;
  firstName: string;
  lastName: string;
  mailingAddress: MailingAddress;
  phoneNumbers: string[];
  paperless: boolean;
  createdAt: Date;
}

/** R5: a Member ID is exactly 12 digits (the request schemas use this pattern; the database checks it too). */
export const MEMBER_ID_PATTERN = '^[0-9]{12}$';
const MEMBER_ID = new RegExp(MEMBER_ID_PATTERN);

/** R5: whether a value is a valid Member ID. */
export function isValidMemberId(value: string): boolean {
  return MEMBER_ID.test(value);
}

/**
 * R5: phone numbers are kept in E.164. Callers may send common formatting ("+1 (617) 555-0100") or a
 * 10-digit US number; anything else is refused.
 */
export function normalizePhoneNumber(input: string): string {
  const compact = input.replace(/[\s().-]/g, '');
  let e164: string;
  if (/^\+[1-9]\d{7,14}$/.test(compact)) e164 = compact;
  else if (/^[2-9]\d{9}$/.test(compact)) e164 = `+1${compact}`;
  else if (/^1[2-9]\d{9}$/.test(compact)) e164 = `+${compact}`;
  else throw new DomainError('invalid_phone_number', `"${input}" is not an E.164 phone number (e.g. +16175550100).`);
  return e164;
}

export function subscriberName(account: Pick<Account, 'firstName' | 'lastName'>): string {
  return `${account.firstName} ${account.lastName}`;
}
