/**
 * Tests must be deterministic: every property runs the same cases on every run. To explore more,
 * run with another seed (FC_SEED=123 npx vitest run node/amqp/codec) and keep any failure found
 * as an explicit case. Imported for its effect by every test file that uses fast-check.
 */
import fc from "fast-check";

fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20261121) });
