import { describe, expect, it } from "vitest";
import { declareQueue, Harness } from "./harness.js";

/** Declares a durable queue with these arguments and returns RabbitMQ's 406 text, or "ok". */
function outcome(args: Record<string, unknown>, opts: { durable?: boolean } = {}): string {
  const h = new Harness();
  const r = h.run(declareQueue("q", { durable: opts.durable ?? true, arguments: args }));
  if (r.reply.ok) return "ok";
  expect(r.reply.error.code).toBe("PRECONDITION_FAILED");
  return r.reply.error.message;
}

const at = (arg: string) => `invalid arg '${arg}' for queue 'q' in vhost '/'`;

describe("queue x-arguments are validated as RabbitMQ validates them", () => {
  it("x-message-ttl: a non-negative integer of at most 2^32-1 ms", () => {
    expect(outcome({ "x-message-ttl": 0 })).toBe("ok");
    expect(outcome({ "x-message-ttl": 60_000 })).toBe("ok");
    expect(outcome({ "x-message-ttl": -1 })).toBe(`${at("x-message-ttl")}: {value_negative,-1}`);
    expect(outcome({ "x-message-ttl": 4_294_967_296 })).toBe(
      `${at("x-message-ttl")}: {value_too_big,4294967296}`,
    );
    expect(outcome({ "x-message-ttl": "1000" })).toBe(
      `${at("x-message-ttl")}: "expected integer, got longstr"`,
    );
    expect(outcome({ "x-message-ttl": 1.5 })).toBe(`${at("x-message-ttl")}: "expected integer, got double"`);
  });

  it("x-expires: a positive integer", () => {
    expect(outcome({ "x-expires": 1 })).toBe("ok");
    expect(outcome({ "x-expires": 0 })).toBe(`${at("x-expires")}: {value_zero,0}`);
    expect(outcome({ "x-expires": -5 })).toBe(`${at("x-expires")}: {value_negative,-5}`);
  });

  it("x-max-length and x-max-length-bytes: non-negative integers", () => {
    expect(outcome({ "x-max-length": 0, "x-max-length-bytes": 1024 })).toBe("ok");
    expect(outcome({ "x-max-length": -1 })).toBe(`${at("x-max-length")}: {value_negative,-1}`);
    expect(outcome({ "x-max-length-bytes": true })).toBe(
      `${at("x-max-length-bytes")}: "expected integer, got bool"`,
    );
  });

  it("x-overflow: drop-head, reject-publish or reject-publish-dlx", () => {
    for (const v of ["drop-head", "reject-publish", "reject-publish-dlx"])
      expect(outcome({ "x-overflow": v })).toBe("ok");
    expect(outcome({ "x-overflow": "drop-tail" })).toBe(`${at("x-overflow")}: invalid_overflow`);
    expect(outcome({ "x-overflow": 1 })).toBe(`${at("x-overflow")}: {unacceptable_type,long}`);
  });

  it("x-queue-type: classic or quorum; streams are not supported", () => {
    expect(outcome({ "x-queue-type": "quorum" })).toBe("ok");
    expect(outcome({ "x-queue-type": "classic" })).toBe("ok");
    expect(outcome({ "x-queue-type": "stream" })).toBe(
      `${at("x-queue-type")}: "unsupported queue type 'stream'"`,
    );
    expect(outcome({ "x-queue-type": "fast" })).toBe(
      `${at("x-queue-type")}: "unsupported queue type 'fast'"`,
    );
    expect(outcome({ "x-queue-type": 1 })).toBe(`${at("x-queue-type")}: {unacceptable_type,long}`);
  });

  it("x-max-priority: 0..255, on classic (and transient) queues", () => {
    expect(outcome({ "x-max-priority": 255 }, { durable: false })).toBe("ok");
    expect(outcome({ "x-max-priority": 256 }, { durable: false })).toBe(
      `${at("x-max-priority")}: {max_value_exceeded,256}`,
    );
    expect(outcome({ "x-max-priority": -1 }, { durable: false })).toBe(
      `${at("x-max-priority")}: {value_negative,-1}`,
    );
  });

  it("x-dead-letter-exchange and x-dead-letter-routing-key are strings; a routing key needs an exchange", () => {
    expect(outcome({ "x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dead" })).toBe("ok");
    expect(outcome({ "x-dead-letter-exchange": "" })).toBe("ok");
    expect(outcome({ "x-dead-letter-exchange": 5 })).toBe(
      "invalid type 'long' for arg 'x-dead-letter-exchange' in queue 'q' in vhost '/'",
    );
    expect(outcome({ "x-dead-letter-routing-key": "dead" })).toBe(
      `${at("x-dead-letter-routing-key")}: routing_key_but_no_dlx_defined`,
    );
    expect(outcome({ "x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": 7 })).toBe(
      `${at("x-dead-letter-routing-key")}: {unacceptable_type,long}`,
    );
  });

  it("x-single-active-consumer is a boolean", () => {
    expect(outcome({ "x-single-active-consumer": true })).toBe("ok");
    expect(outcome({ "x-single-active-consumer": "true" })).toBe(
      `${at("x-single-active-consumer")}: {unacceptable_type,longstr}`,
    );
  });

  it("x-delivery-limit is an integer", () => {
    expect(outcome({ "x-delivery-limit": 5 })).toBe("ok");
    expect(outcome({ "x-delivery-limit": "5" })).toBe(
      `${at("x-delivery-limit")}: "expected integer, got longstr"`,
    );
  });

  it("x-quorum-initial-group-size is a positive integer", () => {
    expect(outcome({ "x-quorum-initial-group-size": 3 })).toBe("ok");
    expect(outcome({ "x-quorum-initial-group-size": 0 })).toBe(
      `${at("x-quorum-initial-group-size")}: {value_zero,0}`,
    );
  });

  it("x-queue-mode and x-queue-version take RabbitMQ's values", () => {
    expect(outcome({ "x-queue-mode": "lazy", "x-queue-version": 2 })).toBe("ok");
    expect(outcome({ "x-queue-mode": "eager" })).toBe(
      `${at("x-queue-mode")}: "unsupported queue mode 'eager'"`,
    );
    expect(outcome({ "x-queue-version": 3 })).toBe(
      `${at("x-queue-version")}: "unsupported queue version '3'"`,
    );
  });

  it("x-dead-letter-strategy takes at-most-once or at-least-once", () => {
    expect(outcome({ "x-dead-letter-strategy": "at-least-once" })).toBe("ok");
    expect(outcome({ "x-dead-letter-strategy": "maybe" })).toBe(
      `${at("x-dead-letter-strategy")}: invalid_dlx_strategy`,
    );
  });

  it("stream-only arguments are refused on other queue types", () => {
    expect(outcome({ "x-max-age": "1D" })).toBe(`${at("x-max-age")} of queue type rabbit_classic_queue`);
  });

  it("reports the first invalid argument in RabbitMQ's order", () => {
    expect(outcome({ "x-max-length": -1, "x-expires": 0 })).toBe(`${at("x-expires")}: {value_zero,0}`);
  });

  it("unknown arguments are accepted and kept", () => {
    expect(outcome({ "x-whatever": { nested: true }, plain: 1 })).toBe("ok");
  });

  it("a redeclare does not re-validate: a queue is compared, not re-checked", () => {
    const h = new Harness();
    h.ok(declareQueue("q", { durable: true, arguments: { "x-max-length": 10 } }));
    expect(h.fail(declareQueue("q", { durable: true, arguments: { "x-max-length": -1 } })).message).toMatch(
      /^inequivalent arg 'x-max-length'/,
    );
  });
});
