/**
 * What the RaftHost's parts (reads, membership, the ticker) need from the host itself: its
 * options, its storage, and a way to find a running group and to tell the loop and the ticker
 * that a group got an input. The host implements it; the parts take it as a parameter, so
 * each lives in its own file without reaching into the host's private state.
 */
import type { GroupId, NodeId } from "../core/types.js";
import { NONE } from "../core/types.js";
import { NotLeaderError, ProposalDroppedError } from "../errors.js";
import type { NodeStorage } from "../storage/index.js";
import type { Group } from "./group.js";
import type { ResolvedHostOptions } from "./options.js";

export interface HostContext {
  readonly opts: ResolvedHostOptions;
  readonly storage: NodeStorage;
  /** The running group, or undefined (unknown, removed, or the host is stopped). */
  findGroup(group: GroupId): Group | undefined;
  /** The running group; throws UnknownGroupError otherwise. */
  mustGroup(group: GroupId): Group;
  /** Every running group. */
  groups(): Iterable<Group>;
  /** `g` got an input: tick it again if it was parked, and look at it in the next batch. */
  touch(g: Group): void;
  /** stop() has begun: never unset. */
  isStopped(): boolean;
}

/** NONE as undefined, the public API's "no leader known". */
export function hint(lead: NodeId): NodeId | undefined {
  return lead === NONE ? undefined : lead;
}

/** The core's refusals, with this group's id and the best leader hint the host knows. */
export function mapProposeError(g: Group, err: unknown): Error {
  if (err instanceof NotLeaderError) return new NotLeaderError(g.id, err.leaderHint ?? hint(g.lead));
  if (err instanceof ProposalDroppedError) return err;
  return err as Error;
}
