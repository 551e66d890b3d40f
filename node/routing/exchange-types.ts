/**
 * The exchange types: each keeps its own index over its bindings, updated incrementally.
 */
import { HashRing, MAX_CONSISTENT_HASH_WEIGHT, parseWeight } from "./consistent-hash.js";
import { hashTextOf, stringArg } from "./field-values.js";
import { compileHeadersPattern, type HeadersPattern, headersMatch } from "./headers-match.js";
import {
  type BindingRec,
  type DestRec,
  destId,
  type ExchangeBehaviour,
  type RoutedMessage,
} from "./records.js";
import { compileTopicPattern, splitTopicKey, TopicTrie } from "./topic-trie.js";
import type { ExchangeType, FieldTable } from "./types.js";

/** Exact routing-key match through a map. */
class DirectBehaviour implements ExchangeBehaviour {
  private readonly byKey = new Map<string, Set<BindingRec>>();

  add(b: BindingRec): void {
    let set = this.byKey.get(b.routingKey);
    if (set === undefined) {
      set = new Set();
      this.byKey.set(b.routingKey, set);
    }
    set.add(b);
  }

  remove(b: BindingRec): void {
    const set = this.byKey.get(b.routingKey);
    if (set?.delete(b) && set.size === 0) this.byKey.delete(b.routingKey);
  }

  collect(msg: RoutedMessage, out: DestRec[]): void {
    for (const key of msg.keys) {
      const set = this.byKey.get(key);
      if (set !== undefined) for (const b of set) out.push(b.dest);
    }
  }
}

/** Every binding, whatever the key. */
class FanoutBehaviour implements ExchangeBehaviour {
  private readonly all = new Set<BindingRec>();
  add(b: BindingRec): void {
    this.all.add(b);
  }
  remove(b: BindingRec): void {
    this.all.delete(b);
  }
  collect(_msg: RoutedMessage, out: DestRec[]): void {
    for (const b of this.all) out.push(b.dest);
  }
}

class TopicBehaviour implements ExchangeBehaviour {
  private readonly trie = new TopicTrie<BindingRec>();
  private out: DestRec[] = [];
  // Bound once: routing must not allocate a closure per message.
  private readonly emit = (b: BindingRec): void => {
    this.out.push(b.dest);
  };

  add(b: BindingRec): void {
    this.trie.add(compileTopicPattern(b.routingKey), b);
  }

  remove(b: BindingRec): void {
    this.trie.remove(compileTopicPattern(b.routingKey), b);
  }

  collect(msg: RoutedMessage, out: DestRec[]): void {
    this.out = out;
    for (const key of msg.keys) this.trie.match(splitTopicKey(key), this.emit);
    this.out = [];
  }
}

/**
 * Headers matching is per binding by nature (RabbitMQ scans too). Patterns are compiled at bind
 * time and kept in a dense array (swap-remove) so a route is one tight loop.
 */
class HeadersBehaviour implements ExchangeBehaviour {
  private readonly entries: { b: BindingRec; p: HeadersPattern }[] = [];
  private readonly index = new Map<BindingRec, number>();
  add(b: BindingRec): void {
    this.index.set(b, this.entries.length);
    this.entries.push({ b, p: compileHeadersPattern(b.args) });
  }
  remove(b: BindingRec): void {
    const i = this.index.get(b);
    if (i === undefined) return;
    this.index.delete(b);
    const last = this.entries.pop()!;
    if (i < this.entries.length) {
      this.entries[i] = last;
      this.index.set(last.b, i);
    }
  }
  collect(msg: RoutedMessage, out: DestRec[]): void {
    const headers = msg.headers;
    for (const e of this.entries) if (headersMatch(e.p, headers)) out.push(e.b.dest);
  }
}

/** What a message without the hashed header/property hashes as (RabbitMQ hashes `undefined`). */
const MISSING_HASH_VALUE = "\u0000undefined";

/**
 * `x-consistent-hash`: exactly one destination per message. A destination bound several times
 * weighs the sum of its bindings' weights, so the ring depends only on the current bindings.
 */
class ConsistentHashBehaviour implements ExchangeBehaviour {
  private readonly ring = new HashRing<DestRec>();
  private readonly hashHeader: string | undefined;
  private readonly hashProperty: string | undefined;

  constructor(args: FieldTable) {
    this.hashHeader = stringArg(args["hash-header"]);
    this.hashProperty = stringArg(args["hash-property"]);
  }

  private weightOf(b: BindingRec): number {
    const w = parseWeight(b.routingKey);
    // bind() validated the key; a string here means a caller bypassed it.
    return typeof w === "number" ? Math.min(w, MAX_CONSISTENT_HASH_WEIGHT) : 0;
  }

  add(b: BindingRec): void {
    const id = destId(b.dest);
    this.ring.set(id, this.ring.weightOf(id) + this.weightOf(b), b.dest);
  }

  remove(b: BindingRec): void {
    const id = destId(b.dest);
    this.ring.set(id, this.ring.weightOf(id) - this.weightOf(b), b.dest);
  }

  private valueOf(msg: RoutedMessage): string | Uint8Array | undefined {
    if (this.hashHeader !== undefined) return hashTextOf(msg.headers?.[this.hashHeader]);
    if (this.hashProperty !== undefined) {
      const p = msg.properties;
      switch (this.hashProperty) {
        case "correlation_id":
          return p?.correlationId;
        case "message_id":
          return p?.messageId;
        case "timestamp": {
          const ts = p?.timestamp;
          if (ts === undefined) return undefined;
          return String(ts instanceof Date ? Math.floor(ts.getTime() / 1000) : ts);
        }
        default:
          return undefined;
      }
    }
    // Only the first routing key counts, as the plugin (CC/BCC keys are ignored).
    return msg.keys[0];
  }

  collect(msg: RoutedMessage, out: DestRec[]): void {
    const d = this.ring.lookup(this.valueOf(msg) ?? MISSING_HASH_VALUE);
    if (d !== undefined) out.push(d);
  }
}

export function createBehaviour(type: ExchangeType, args: FieldTable): ExchangeBehaviour {
  switch (type) {
    case "direct":
      return new DirectBehaviour();
    case "fanout":
      return new FanoutBehaviour();
    case "topic":
      return new TopicBehaviour();
    case "headers":
      return new HeadersBehaviour();
    case "x-consistent-hash":
      return new ConsistentHashBehaviour(args);
  }
}
