/**
 * RabbitMQ's `rabbit_password_hashing_sha256`: a 4-byte random salt, SHA-256(salt ++ password),
 * stored as base64(salt ++ hash). Hashes exported from RabbitMQ (definitions.json) verify here,
 * and ours verify there.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export const SHA256_SCHEME = "rabbit_password_hashing_sha256";

export function hashPassword(password: string, salt: Uint8Array = randomBytes(4)): string {
  const digest = createHash("sha256").update(salt).update(password, "utf8").digest();
  return Buffer.concat([salt, digest]).toString("base64");
}

export function verifyPassword(password: string, stored: string | undefined): boolean {
  if (stored === undefined || stored === "") return false;
  const raw = Buffer.from(stored, "base64");
  if (raw.length !== 4 + 32) return false;
  const expected = Buffer.from(hashPassword(password, raw.subarray(0, 4)), "base64");
  return timingSafeEqual(raw, expected);
}
