/**
 * RabbitMQ's `loopback_users` rule: the listed users (by default `guest`) may log in only from a
 * loopback address, so the well-known default credentials are useless from another machine.
 * Both front doors (AMQP and HTTP) apply it with the client's remote address.
 */
import { isIP } from "node:net";

/** 127.0.0.0/8, ::1 and IPv4-mapped 127.x addresses (how a dual-stack socket reports 127.0.0.1). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase().replace(/^\[|\]$/g, "");
  const v4 = a.startsWith("::ffff:") ? a.slice(7) : a;
  if (isIP(v4) === 4) return v4.startsWith("127.");
  return isIP(a) === 6 && /^(0{0,4}:){0,7}:?0{0,3}1$/.test(a) && a.replace(/[0:]/g, "") === "1";
}

/** False when `user` is a loopback-only user and `remoteAddress` is not loopback (or unknown). */
export function loginAllowedFrom(
  user: string,
  remoteAddress: string | undefined,
  loopbackUsers: readonly string[],
): boolean {
  return !loopbackUsers.includes(user) || isLoopbackAddress(remoteAddress);
}
