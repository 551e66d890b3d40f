/**
 * The host's subscribers: applied commands and leader changes, fanned out from the groups.
 * A listener that throws is logged and skipped: it runs inside the loop, and one subscriber's
 * bug must not stop replication of every group.
 */
import type { GroupId, NodeId } from "../core/types.js";
import type { Logger } from "../logger.js";
import type { GroupEvents } from "./group.js";
import type { ApplyMeta } from "./state-machine.js";

/**
 * Called after each command is applied on this node, in index order per group. `isLeader`
 * tells whether this node led the group when it applied the entry: only the leader's node acts
 * on the effects a state machine returns (Ra's rule), followers only keep their state.
 */
export type AppliedListener = (group: GroupId, meta: ApplyMeta, result: unknown, isLeader: boolean) => void;
/** Called when this node learns of a new leader of `group` (undefined: none known, election under way). */
export type LeaderChangeListener = (group: GroupId, leader: NodeId | undefined) => void;

export class HostEvents implements GroupEvents {
  readonly appliedListeners: AppliedListener[] = [];
  readonly leaderListeners: LeaderChangeListener[] = [];

  constructor(private readonly logger: Logger) {}

  readonly applied = (group: GroupId, meta: ApplyMeta, result: unknown, isLeader: boolean): void => {
    for (const l of this.appliedListeners) {
      try {
        l(group, meta, result, isLeader);
      } catch (err) {
        this.listenerFailed("onApplied", group, err);
      }
    }
  };

  readonly leaderChanged = (group: GroupId, leader: NodeId | undefined): void => {
    for (const l of this.leaderListeners) {
      try {
        l(group, leader);
      } catch (err) {
        this.listenerFailed("onLeaderChange", group, err);
      }
    }
  };

  private listenerFailed(kind: string, group: GroupId, err: unknown): void {
    this.logger.error(
      { group, err: (err as Error).message, stack: (err as Error).stack },
      `${kind} listener threw`,
    );
  }
}
