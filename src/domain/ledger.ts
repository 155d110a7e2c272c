import type { IsoDate } from './dates.js';
import { paymentDueDate } from './deadlines.js';
import { balanceCents, hasBalance, type Invoice } from './invoice.js';
import { allocate } from './payment.js';
import type { InvoiceChange } from './settlement.js';

/** A working copy of an enrollment's invoices and the changes made to them, in the order made. */
export class InvoiceLedger {
  readonly invoices: Invoice[];
  private readonly changes = new Map<string, InvoiceChange>();

  constructor(invoices: readonly Invoice[]) {
    this.invoices = invoices.map((i) => ({ ...i }));
  }

  change(invoiceId: string): InvoiceChange {
    let c = this.changes.get(invoiceId);
    if (!c) {
      c = { invoiceId, paidDeltaCents: 0 };
      this.changes.set(invoiceId, c);
    }
    return c;
  }

  /** Voids first, so no write ever holds two live invoices for one month, even for an instant. */
  list(): InvoiceChange[] {
    const all = [...this.changes.values()];
    return [...all.filter((c) => c.voidedAt), ...all.filter((c) => !c.voidedAt)];
  }

  get binder(): Invoice | undefined {
    return this.invoices.find((i) => i.isBinder && !i.voidedAt) ?? this.invoices.find((i) => i.isBinder);
  }

  live(): Invoice[] {
    return this.invoices.filter((i) => !i.voidedAt);
  }

  /** I4: the amount paid is credit applied plus live payment applications; every change goes through here. */
  paid(invoice: Invoice, cents: number): void {
    invoice.amountPaidCents += cents;
    this.change(invoice.id).paidDeltaCents += cents;
  }

  /** I4/R16: credit applied counts in the amount paid. */
  credit(invoice: Invoice, cents: number): void {
    this.paid(invoice, cents);
    invoice.creditAppliedCents += cents;
    const c = this.change(invoice.id);
    c.creditDeltaCents = (c.creditDeltaCents ?? 0) + cents;
  }

  voidInvoice(invoice: Invoice, at: Date): void {
    invoice.voidedAt = at;
    this.change(invoice.id).voidedAt = at;
  }

  /**
   * R10/R25: the start moves to `to`. The unpaid binder follows it; the regular invoices of months
   * before `to`, and of `to` itself (the binder is that month's invoice now), are voided (I1). Returns
   * the money that was paid on them: it becomes credit on the enrollment.
   */
  moveStart(to: IsoDate, at: Date): number {
    let freed = 0;
    for (const inv of this.live()) {
      if (inv.isBinder || inv.coverageMonth > to) continue;
      this.voidInvoice(inv, at);
      freed += inv.amountPaidCents;
    }
    const binder = this.binder;
    if (binder && !binder.voidedAt) {
      binder.coverageMonth = to;
      binder.dueDate = paymentDueDate(to);
      Object.assign(this.change(binder.id), { coverageMonth: to, dueDate: binder.dueDate });
    }
    return freed;
  }

  /** I3: credit pays live invoices with a balance, oldest month first (the binder is the oldest). */
  applyCredit(creditCents: number): number {
    if (creditCents <= 0) return 0;
    const open = this.invoices.filter(hasBalance);
    const allocation = allocate(
      creditCents,
      open.map((i) => ({ id: i.id, coverageMonth: i.coverageMonth, balanceCents: balanceCents(i) })),
    );
    let used = 0;
    for (const a of allocation.applications) {
      const inv = this.invoices.find((i) => i.id === a.invoiceId);
      if (!inv) continue;
      this.credit(inv, a.amountCents);
      used += a.amountCents;
    }
    return used;
  }

  /**
   * I3 (R25): credit applied to a month while an older live invoice has a balance goes to the older
   * one. Only a return makes this happen (it reopens an older invoice after a billing run spent
   * credit on a later month): the credit of every month after the oldest open one is taken back and
   * applied again, oldest first.
   */
  rebalanceCredit(): void {
    const open = this.live().filter(hasBalance);
    if (open.length === 0) return;
    const oldestOpen = open.reduce((m, i) => (i.coverageMonth < m ? i.coverageMonth : m), open[0]?.coverageMonth ?? '');
    const later = this.live().filter((i) => i.creditAppliedCents > 0 && i.coverageMonth > oldestOpen);
    if (later.length === 0) return;
    this.applyCredit(this.takeBackCredit(later.reduce((sum, i) => sum + i.creditAppliedCents, 0)));
  }

  /** Takes credit back from the live invoices that used it, newest month first; returns what it took. */
  takeBackCredit(cents: number): number {
    let left = cents;
    const users = this.live()
      .filter((i) => i.creditAppliedCents > 0)
      .sort((a, b) => (a.coverageMonth < b.coverageMonth ? 1 : a.coverageMonth > b.coverageMonth ? -1 : 0));
    for (const inv of users) {
      if (left <= 0) break;
      const take = Math.min(left, inv.creditAppliedCents);
      this.credit(inv, -take);
      left -= take;
    }
    return cents - left;
  }
}
