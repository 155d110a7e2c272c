import { addMonths, dateFromParts, firstOfMonth, type IsoDate, parts } from './dates.js';

/** R1: the payment due date for a coverage month is the 23rd of the month before it. */
export const DUE_DAY_OF_MONTH = 23;

export function paymentDueDate(coverageStart: IsoDate): IsoDate {
  const { year, month } = parts(coverageStart);
  return dateFromParts(year, month - 1, DUE_DAY_OF_MONTH);
}

export interface PaymentDeadline {
  coverageStart: IsoDate;
  paymentDueDate: IsoDate;
}

export function paymentDeadlines(year: number): PaymentDeadline[] {
  return Array.from({ length: 12 }, (_, i) => {
    const coverageStart = dateFromParts(year, i + 1, 1);
    return { coverageStart, paymentDueDate: paymentDueDate(coverageStart) };
  });
}

/** R2: paid by the due date when the payment's business date is on or before it. */
export function isByDueDate(businessDate: IsoDate, dueDate: IsoDate): boolean {
  return businessDate <= dueDate;
}

/** R8/R10: the earliest coverage start whose due date is on or after the given business date. */
export function earliestCoverageStart(businessDate: IsoDate): IsoDate {
  const next = addMonths(firstOfMonth(businessDate), 1);
  return isByDueDate(businessDate, paymentDueDate(next)) ? next : addMonths(next, 1);
}

/**
 * R10: the coverage start in effect on a business date for a member who chose `chosenStart` and
 * has not paid in full yet: the chosen start while its due date has not passed, else the earliest
 * start still open. Never earlier than the chosen start.
 */
export function effectiveCoverageStart(chosenStart: IsoDate, businessDate: IsoDate): IsoDate {
  if (isByDueDate(businessDate, paymentDueDate(chosenStart))) return chosenStart;
  const earliest = earliestCoverageStart(businessDate);
  return earliest > chosenStart ? earliest : chosenStart;
}
