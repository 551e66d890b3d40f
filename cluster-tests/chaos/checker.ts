/**
 * The chaos checker (Jepsen-style, pure): it is told every publish attempt, every confirm and
 * every delivery, with a unique message id, and after the cluster healed and every queue was
 * drained it says what went wrong. No clock of its own: callers pass timestamps.
 *
 * - lost: confirmed (HTTP 200 `routed: true`) but never delivered. Must be zero.
 * - unexpected: delivered but never published (or a payload we cannot parse). Must be zero.
 * - duplicated: delivered more than once (at-least-once delivery allows it; reported only).
 * - order violations: per consumer stream and publisher, a first delivery (not redelivered) of a
 *   lower sequence after a higher one, counted only for publishers none of whose messages were
 *   ever redelivered (a requeue legitimately reorders).
 * - availability: the longest window without any confirm, and for each fault the time from the
 *   fault to the first confirm of a publish sent after it.
 */

/** What a message carries as its payload, so a delivery names its publish. */
export interface MessageTag {
  readonly id: string;
  readonly publisher: string;
  readonly seq: number;
}

export function encodeTag(tag: MessageTag): string {
  return JSON.stringify({ id: tag.id, p: tag.publisher, s: tag.seq });
}

/** The tag of a delivered payload, or undefined when it is not one of ours. */
export function decodeTag(payload: string): MessageTag | undefined {
  try {
    const v = JSON.parse(payload) as { id?: unknown; p?: unknown; s?: unknown };
    if (typeof v.id !== "string" || typeof v.p !== "string" || typeof v.s !== "number") return undefined;
    return { id: v.id, publisher: v.p, seq: v.s };
  } catch {
    return undefined;
  }
}

interface Attempt {
  readonly tag: MessageTag;
  readonly queue: string;
  readonly via: string;
  readonly at: number;
  confirmedAt?: number;
}

interface Delivery {
  readonly payload: string;
  readonly consumer: string;
  readonly redelivered: boolean;
  readonly at: number;
}

export interface FaultMark {
  readonly name: string;
  readonly at: number;
}

export interface ViolationSample {
  readonly publisher: string;
  readonly consumer: string;
  readonly after: number;
  readonly seq: number;
}

export interface CheckReport {
  readonly attempts: number;
  readonly confirmed: number;
  readonly delivered: number;
  /** Ids confirmed and never delivered. */
  readonly lost: readonly string[];
  /** Payloads delivered that no publish attempt produced. */
  readonly unexpected: readonly string[];
  /** Ids delivered more than once. */
  readonly duplicated: readonly string[];
  readonly orderViolations: readonly ViolationSample[];
  /** Longest gap (ms) between consecutive confirms, from the first attempt to the last confirm. */
  readonly longestConfirmGapMs: number;
  /** Per fault: ms from the fault to the first confirm of a publish sent after it (undefined: none). */
  readonly recoveries: readonly { readonly name: string; readonly ms: number | undefined }[];
}

export class Checker {
  private readonly attempts = new Map<string, Attempt>();
  private readonly deliveries: Delivery[] = [];
  private readonly faults: FaultMark[] = [];

  /** A publish is about to be sent. Ids must be unique. */
  recordAttempt(tag: MessageTag, queue: string, via: string, at: number): void {
    if (this.attempts.has(tag.id)) throw new Error(`message id ${tag.id} used twice`);
    this.attempts.set(tag.id, { tag, queue, via, at });
  }

  /** The broker confirmed the publish of `id`. */
  recordConfirm(id: string, at: number): void {
    const a = this.attempts.get(id);
    if (a === undefined) throw new Error(`confirm of unknown message ${id}`);
    a.confirmedAt = at;
  }

  /** A consumer received `payload` (as delivered, parsed here). */
  recordDelivery(payload: string, consumer: string, redelivered: boolean, at: number): void {
    this.deliveries.push({ payload, consumer, redelivered, at });
  }

  /** A fault was injected at `at` (for the recovery figures). */
  markFault(name: string, at: number): void {
    this.faults.push({ name, at });
  }

  /** Confirmed publishes whose attempt started in [from, to) and went through `via`. */
  confirmedVia(via: string, from: number, to: number): string[] {
    const out: string[] = [];
    for (const a of this.attempts.values()) {
      if (a.via === via && a.at >= from && a.at < to && a.confirmedAt !== undefined && a.confirmedAt < to)
        out.push(a.tag.id);
    }
    return out;
  }

  /** Confirms whose attempt started in [from, to) and were answered before `to` (any node). */
  confirmedBetween(from: number, to: number): string[] {
    const out: string[] = [];
    for (const a of this.attempts.values()) {
      if (a.at >= from && a.confirmedAt !== undefined && a.confirmedAt < to) out.push(a.tag.id);
    }
    return out;
  }

  /** Ids confirmed so far that no delivery carried yet (the drain waits for this to be empty). */
  undelivered(): string[] {
    const seen = new Set<string>();
    for (const d of this.deliveries) {
      const t = decodeTag(d.payload);
      if (t) seen.add(t.id);
    }
    const out: string[] = [];
    for (const a of this.attempts.values())
      if (a.confirmedAt !== undefined && !seen.has(a.tag.id)) out.push(a.tag.id);
    return out;
  }

  confirmedCount(): number {
    let n = 0;
    for (const a of this.attempts.values()) if (a.confirmedAt !== undefined) n += 1;
    return n;
  }

  report(): CheckReport {
    const counts = new Map<string, number>();
    const unexpected: string[] = [];
    const requeuedPublishers = new Set<string>();
    for (const d of this.deliveries) {
      const t = decodeTag(d.payload);
      if (t === undefined || this.attempts.get(t.id)?.tag.publisher !== t.publisher) {
        unexpected.push(d.payload);
        continue;
      }
      counts.set(t.id, (counts.get(t.id) ?? 0) + 1);
      if (d.redelivered) requeuedPublishers.add(t.publisher);
    }
    const lost: string[] = [];
    let confirmed = 0;
    const confirmTimes: number[] = [];
    let firstAttempt = Number.POSITIVE_INFINITY;
    for (const a of this.attempts.values()) {
      firstAttempt = Math.min(firstAttempt, a.at);
      if (a.confirmedAt === undefined) continue;
      confirmed += 1;
      confirmTimes.push(a.confirmedAt);
      if (!counts.has(a.tag.id)) lost.push(a.tag.id);
    }
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    return {
      attempts: this.attempts.size,
      confirmed,
      delivered: this.deliveries.length,
      lost,
      unexpected,
      duplicated,
      orderViolations: this.orderViolations(requeuedPublishers),
      longestConfirmGapMs: longestGap(firstAttempt, confirmTimes),
      recoveries: this.faults.map((f) => ({ name: f.name, ms: this.firstConfirmAfter(f.at) })),
    };
  }

  private orderViolations(requeued: ReadonlySet<string>): ViolationSample[] {
    const last = new Map<string, number>(); // consumer \0 publisher -> highest seq seen
    const out: ViolationSample[] = [];
    for (const d of this.deliveries) {
      if (d.redelivered) continue;
      const t = decodeTag(d.payload);
      if (t === undefined || requeued.has(t.publisher)) continue;
      const key = `${d.consumer}\u0000${t.publisher}`;
      const prev = last.get(key);
      if (prev !== undefined && t.seq < prev)
        out.push({ publisher: t.publisher, consumer: d.consumer, after: prev, seq: t.seq });
      last.set(key, Math.max(prev ?? t.seq, t.seq));
    }
    return out;
  }

  private firstConfirmAfter(at: number): number | undefined {
    let best: number | undefined;
    for (const a of this.attempts.values()) {
      if (a.at < at || a.confirmedAt === undefined) continue;
      if (best === undefined || a.confirmedAt < best) best = a.confirmedAt;
    }
    return best === undefined ? undefined : best - at;
  }
}

function longestGap(start: number, times: number[]): number {
  if (times.length === 0) return 0;
  const sorted = [...times].sort((a, b) => a - b);
  let prev = Math.min(start, sorted[0] as number);
  let gap = 0;
  for (const t of sorted) {
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return gap;
}

/** One line per figure, for logs and failure messages (ids truncated to a few samples). */
export function describeReport(r: CheckReport): string {
  const sample = (xs: readonly unknown[]) =>
    `${xs.length}${xs.length ? ` e.g. ${JSON.stringify(xs.slice(0, 5))}` : ""}`;
  const rec = r.recoveries.map((x) => `${x.name}=${x.ms === undefined ? "none" : `${x.ms}ms`}`).join(" ");
  return [
    `attempts=${r.attempts} confirmed=${r.confirmed} delivered=${r.delivered}`,
    `lost=${sample(r.lost)} unexpected=${sample(r.unexpected)} duplicated=${sample(r.duplicated)}`,
    `orderViolations=${sample(r.orderViolations)}`,
    `longestConfirmGap=${r.longestConfirmGapMs}ms recoveries: ${rec || "-"}`,
  ].join("\n");
}
