/**
 * Vitest setup file: with `LAKELOADER_TEST_CLOCK=<ISO-8601>` set, every test file runs with the
 * machine's clock moved to that moment (Date only; timers stay real and the faked clock advances
 * with real time), so the suite can be checked for wall-clock dependencies:
 *
 * ```sh
 * LAKELOADER_TEST_CLOCK=2027-01-01T00:30:00Z npm test
 * ```
 *
 * Child processes that tests start see the moment as `LAKELOADER_NOW` only where a test passes
 * it on explicitly (the CLI's injectable now, lib/ops/format.ts).
 */
import { vi } from 'vitest';

const clock = process.env.LAKELOADER_TEST_CLOCK;
if (clock) {
  const now = Date.parse(clock);
  if (Number.isNaN(now)) throw new Error(`LAKELOADER_TEST_CLOCK must be an ISO-8601 time, got "${clock}"`);
  vi.useFakeTimers({ toFake: ['Date'], now, shouldAdvanceTime: true });
}
