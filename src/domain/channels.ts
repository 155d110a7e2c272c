import { DomainError } from './errors.js';

/** R19: payment channels and the methods each accepts, as data. */
export const PAYMENT_METHODS = [
  'checking',
  'savings',
  'credit_card',
  'debit_card',
  'check',
  'money_order',
  'cash',
  'paypal',
  'other_electronic',
] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

export const CHANNELS = ['online', 'phone', 'mail'] as const;
export type Channel = (typeof CHANNELS)[number];

export type ChannelNeed =
  | 'member_id_or_phone_number'
  | 'bank_routing_and_account_number'
  | 'payment_slip_or_remittance_details'
  | 'sign_in_or_guest'
  | 'payable_to_health_connector';

export interface ChannelRule {
  channel: Channel;
  accepted: readonly PaymentMethod[];
  /** What the seed tells members is not accepted (shown to callers; everything not accepted is refused). */
  notAccepted: readonly PaymentMethod[];
  needs: readonly ChannelNeed[];
  phoneNumbers?: { voice: string; tty: string };
  payableTo?: string;
  mailTo?: MailingAddressLines;
}

export interface MailingAddressLines {
  name: string;
  line1: string;
  city: string;
  state: string;
  postalCode: string;
}

export const PAYEE = 'Health Connector';
export const LOCKBOX_ADDRESS: MailingAddressLines = {
  name: 'Health Connector',
  line1: 'P.O. BOX 412612',
  city: 'Boston',
  state: 'MA',
  postalCode: '02241-2612',
};

export const CHANNEL_RULES = {
  online: {
    channel: 'online',
    accepted: ['checking', 'savings', 'credit_card', 'debit_card'],
    notAccepted: ['paypal', 'other_electronic'],
    needs: ['sign_in_or_guest'],
  },
  phone: {
    channel: 'phone',
    accepted: ['checking', 'savings'],
    notAccepted: ['check', 'money_order', 'cash', 'credit_card', 'debit_card'],
    needs: ['member_id_or_phone_number', 'bank_routing_and_account_number'],
    phoneNumbers: { voice: '1-877-623-6765', tty: '1-877-623-7773' },
  },
  mail: {
    channel: 'mail',
    accepted: ['check', 'money_order'],
    notAccepted: ['cash', 'credit_card', 'debit_card'],
    needs: ['payment_slip_or_remittance_details', 'payable_to_health_connector'],
    payableTo: PAYEE,
    mailTo: LOCKBOX_ADDRESS,
  },
} as const satisfies Record<Channel, ChannelRule>;

export function channelRules(): ChannelRule[] {
  return CHANNELS.map((c) => CHANNEL_RULES[c]);
}

export function acceptsMethod(channel: Channel, method: PaymentMethod): boolean {
  return (CHANNEL_RULES[channel].accepted as readonly PaymentMethod[]).includes(method);
}

/** R19: decided before any method details are looked at. */
export function assertMethodAccepted(channel: Channel, method: PaymentMethod): void {
  if (!acceptsMethod(channel, method)) {
    const acceptedMethods = [...CHANNEL_RULES[channel].accepted];
    throw new DomainError(
      'method_not_accepted',
      `The ${channel} channel does not accept ${method}; it accepts ${acceptedMethods.join(', ')}.`,
      { acceptedMethods, channel, method },
    );
  }
}
