/** Time is a port: the domain never reads the system clock itself. */
export interface Clock {
  now(): Date;
}

/** The service clock's control port (SPEC test clock): freeze at an instant, or go back to real time. */
export interface SettableClock extends Clock {
  freeze(at: Date): void;
  reset(): void;
  readonly frozen: boolean;
}

export const systemClock: Clock = { now: () => new Date() };
