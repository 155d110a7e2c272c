import type { SettableClock } from '../domain/clock.js';
import type { TestClockStore } from '../store/testClock.js';

/**
 * The test clock (SPEC, ALLOW_TEST_CLOCK=true only) shared by every instance: setting it writes the
 * instant to the database and freezes this process's clock; every instance refreshes its clock
 * from the database before each request and each background sweep (src/app.ts), so an instant set
 * through one instance is the clock of all at their next request (docs/decisions.md, "Several instances").
 */
export class TestClockService {
  constructor(
    private readonly clock: SettableClock,
    private readonly store: TestClockStore,
  ) {}

  async freeze(at: Date): Promise<Date> {
    await this.store.freeze(at);
    this.clock.freeze(at);
    return this.clock.now();
  }

  async reset(): Promise<void> {
    await this.store.reset();
    this.clock.reset();
  }

  /** Takes the shared instant (or real time) into this process's clock. */
  async refresh(): Promise<void> {
    const at = await this.store.read();
    if (at) this.clock.freeze(at);
    else this.clock.reset();
  }
}
