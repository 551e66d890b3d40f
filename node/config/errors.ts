/**
 * The one error a bad configuration produces: it lists every problem found, not just the first,
 * so an operator fixes them all in one round.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: readonly string[]) {
    super(
      `invalid configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
  }
}
