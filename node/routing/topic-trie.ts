/**
 * Topic matching compiled into a trie of binding-key words, as rabbit_exchange_type_topic does,
 * so a route costs O(words x branching) rather than O(bindings).
 *
 * Words are the routing key split on "." (so "a..b" has an empty middle word and "a." ends in
 * an empty word); the empty key has no words at all. In a binding key, a whole word "*" matches
 * exactly one word (empty words included) and "#" matches zero or more; "a*" or "#a" are plain
 * words. Runs of "#" are collapsed when compiling ("#.#" matches what "#" matches) so the walk
 * never expands two adjacent wildcards against each other.
 */

/** Split a routing or binding key into words exactly as RabbitMQ: "" has zero words. */
export function splitTopicKey(key: string): string[] {
  return key === "" ? [] : key.split(".");
}

/** The path a binding key takes in the trie: its words with runs of "#" collapsed. */
export function compileTopicPattern(key: string): string[] {
  const words = splitTopicKey(key);
  const out: string[] = [];
  for (const w of words) {
    if (w === "#" && out[out.length - 1] === "#") continue;
    out.push(w);
  }
  return out;
}

class TrieNode<T> {
  literal: Map<string, TrieNode<T>> | undefined;
  star: TrieNode<T> | undefined;
  hash: TrieNode<T> | undefined;
  values: Set<T> | undefined;
  /** Route-call stamp and the lowest word index a "#" node has been expanded from in that call. */
  memoEpoch = 0;
  memoFrom = 0;
  constructor(
    readonly parent: TrieNode<T> | undefined,
    readonly word: string,
  ) {}

  child(word: string): TrieNode<T> | undefined {
    if (word === "*") return this.star;
    if (word === "#") return this.hash;
    return this.literal?.get(word);
  }

  isEmpty(): boolean {
    return (
      (this.values === undefined || this.values.size === 0) &&
      this.star === undefined &&
      this.hash === undefined &&
      (this.literal === undefined || this.literal.size === 0)
    );
  }
}

/**
 * A trie from topic patterns to values (the routing table stores bindings). Adding and removing
 * are incremental; removal prunes nodes left without values or children.
 */
export class TopicTrie<T> {
  private readonly root = new TrieNode<T>(undefined, "");
  private epoch = 0;
  private count = 0;
  private nodes = 1;
  private visits = 0;

  /** Trie nodes the last `match` call visited: the cost of a route, independent of `size`. */
  get lastMatchVisits(): number {
    return this.visits;
  }

  get size(): number {
    return this.count;
  }

  /** Trie nodes including the root (tests check that removal prunes). */
  get nodeCount(): number {
    return this.nodes;
  }

  /** Returns false if `value` was already stored under this pattern. */
  add(pattern: readonly string[], value: T): boolean {
    let node = this.root;
    for (const w of pattern) {
      let next = node.child(w);
      if (next === undefined) {
        next = new TrieNode<T>(node, w);
        this.nodes++;
        if (w === "*") node.star = next;
        else if (w === "#") node.hash = next;
        else {
          node.literal ??= new Map();
          node.literal.set(w, next);
        }
      }
      node = next;
    }
    node.values ??= new Set();
    if (node.values.has(value)) return false;
    node.values.add(value);
    this.count++;
    return true;
  }

  /** Returns false if `value` was not stored under this pattern. */
  remove(pattern: readonly string[], value: T): boolean {
    let node: TrieNode<T> | undefined = this.root;
    for (const w of pattern) {
      node = node.child(w);
      if (node === undefined) return false;
    }
    if (node.values === undefined || !node.values.delete(value)) return false;
    this.count--;
    if (node.values.size === 0) node.values = undefined;
    // Prune the now-empty tail of the path, bottom up.
    while (node.parent !== undefined && node.isEmpty()) {
      const parent: TrieNode<T> = node.parent;
      if (node.word === "*") parent.star = undefined;
      else if (node.word === "#") parent.hash = undefined;
      else {
        parent.literal!.delete(node.word);
        if (parent.literal!.size === 0) parent.literal = undefined;
      }
      this.nodes--;
      node = parent;
    }
    return true;
  }

  /**
   * Call `emit` for every value whose pattern matches `words`. A value stored once is emitted at
   * most once per call: every (node, word index) pair is visited at most once, because the only
   * way to reach a node along different splits of the words is through a "#" node, and each "#"
   * node expands each suffix of the words at most once per call (`memoFrom`).
   */
  match(words: readonly string[], emit: (value: T) => void): void {
    this.epoch++;
    this.visits = 0;
    this.walk(this.root, words, 0, emit);
  }

  private walk(node: TrieNode<T>, words: readonly string[], i: number, emit: (value: T) => void): void {
    this.visits++;
    if (i === words.length) {
      if (node.values !== undefined) for (const v of node.values) emit(v);
      // A trailing "#" matches zero words.
      if (node.hash !== undefined) this.expandHash(node.hash, words, i, emit);
      return;
    }
    const lit = node.literal?.get(words[i]!);
    if (lit !== undefined) this.walk(lit, words, i + 1, emit);
    if (node.star !== undefined) this.walk(node.star, words, i + 1, emit);
    if (node.hash !== undefined) this.expandHash(node.hash, words, i, emit);
  }

  /** `hashNode` consumes words[i..j) for every j >= i not already tried in this call. */
  private expandHash(
    hashNode: TrieNode<T>,
    words: readonly string[],
    i: number,
    emit: (value: T) => void,
  ): void {
    let end = words.length;
    if (hashNode.memoEpoch === this.epoch) {
      if (hashNode.memoFrom <= i) return;
      end = hashNode.memoFrom - 1;
    }
    hashNode.memoEpoch = this.epoch;
    hashNode.memoFrom = i;
    for (let j = i; j <= end; j++) this.walk(hashNode, words, j, emit);
  }
}

/**
 * The obvious recursive matcher, kept as the reference the trie is tested against.
 * Exponential on patterns with many "#"; never used for routing.
 */
export function topicMatchesNaive(pattern: string, key: string): boolean {
  const p = splitTopicKey(pattern);
  const k = splitTopicKey(key);
  const go = (pi: number, ki: number): boolean => {
    if (pi === p.length) return ki === k.length;
    const w = p[pi]!;
    if (w === "#") {
      for (let j = ki; j <= k.length; j++) if (go(pi + 1, j)) return true;
      return false;
    }
    if (ki === k.length) return false;
    return (w === "*" || w === k[ki]) && go(pi + 1, ki + 1);
  };
  return go(0, 0);
}
