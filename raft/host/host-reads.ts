/**
 * The host's read side: linearizable reads (ReadIndex, thesis §6.4) and reading commands back
 * from the log, in memory or, for live entries kept below a snapshot, from storage.
 */
import type { Entry, GroupId } from "../core/types.js";
import { EntryType } from "../core/types.js";
import { NotLeaderError, RaftError, UnknownGroupError } from "../errors.js";
import { decodeCommand } from "./entry-codec.js";
import { type HostContext, hint } from "./host-context.js";

/** Resolves once this node (the leader) has applied everything committed before the call. */
export function readIndex(host: HostContext, group: GroupId): Promise<void> {
  const g = host.findGroup(group);
  if (g === undefined) return Promise.reject(new UnknownGroupError(group));
  if (!g.isLeader()) return Promise.reject(new NotLeaderError(group, hint(g.lead)));
  const { context, done } = g.reads.add(Date.now());
  g.node.readIndex(context);
  host.touch(g);
  return done;
}

/**
 * The commands of several entries (result `k` is entry `indexes[k]`), with ONE storage read
 * (`getMany`) for those no longer in the in-memory log: a consumer draining a backlog of
 * bodies kept on disk pays one LevelDB round trip per batch, not per message. Rejects if any
 * of them carries no command (a no-op, a conf change) or is neither in the log nor live.
 */
export async function readCommands(
  host: HostContext,
  group: GroupId,
  indexes: readonly number[],
): Promise<unknown[]> {
  const g = host.mustGroup(group);
  const entries: (Entry | undefined)[] = new Array(indexes.length);
  const misses: number[] = [];
  for (let k = 0; k < indexes.length; k++) {
    const e = g.entryInMemory(indexes[k]!);
    if (e === undefined) misses.push(k);
    else entries[k] = e;
  }
  if (misses.length > 0) {
    const read = await host.storage.readEntries(
      group,
      misses.map((k) => indexes[k]!),
    );
    for (let m = 0; m < misses.length; m++) entries[misses[m]!] = read[m];
  }
  return entries.map((e, k) => {
    const index = indexes[k]!;
    if (e === undefined) throw new RaftError(`group ${group} has no entry at ${index}`);
    if (e.type !== EntryType.Normal || e.data.byteLength === 0) {
      throw new RaftError(`entry ${index} of group ${group} carries no command`);
    }
    return decodeCommand(e.data, `${group}/${index}`).command;
  });
}

/** An entry from the in-memory log if it still holds it, else from storage (live entries). */
export async function readEntry(
  host: HostContext,
  group: GroupId,
  index: number,
): Promise<Entry | undefined> {
  const inMemory = host.findGroup(group)?.entryInMemory(index);
  if (inMemory !== undefined) return inMemory;
  return host.storage.readEntry(group, index);
}
