/**
 * The metadata state machine: one Raft group spanning the cluster holds every vhost, exchange,
 * queue record and binding. `apply` is pure and deterministic (time and randomness come in the
 * entry and the command); its result is `{ reply, changes }`, and every node (not only the
 * leader) applies `changes` to its derived state: the routing index, the queue Raft groups it
 * hosts, the consumers of deleted queues. After `restore`, derived state is rebuilt from
 * `replayChanges()`.
 */
import { Packr } from "msgpackr";
import { CorruptStorageError } from "../../raft/errors.js";
import type { ApplyMeta, MachineSnapshot, StateMachine } from "../../raft/host/state-machine.js";
import { WarrenError } from "../errors.js";
import { addBinding, removeBinding } from "./bindings.js";
import { checkCommandShape } from "./command-shape.js";
import type { ApplyContext } from "./context.js";
import { declareExchange, deleteExchange } from "./exchanges.js";
import { addMember, forgetNode, joinNode, removeMember } from "./members.js";
import { MetaQueries } from "./queries.js";
import {
  connectionClosed,
  declareQueue,
  deleteQueue,
  deleteQueueInternal,
  nodeDown,
  updatePlacement,
} from "./queues.js";
import { MetaStore, type StoreData } from "./store.js";
import type { MetaChange, MetaCommand, MetaReplies, MetaResult } from "./types.js";
import { bootstrapUser, deletePermission, deleteUser, putUser, setPermission } from "./users.js";
import { createVHost, deleteVHost, initialStore } from "./vhosts.js";

/** Bumped when the snapshot layout changes; restore refuses versions it does not know. */
const SNAPSHOT_VERSION = 1;

// Records off: the encoding must not depend on what was encoded before (snapshots are compared
// byte for byte in tests and shipped between nodes).
const packr = new Packr({ useRecords: false, moreTypes: false });

type Handler = (ctx: ApplyContext, cmd: never) => MetaReplies[MetaCommand["type"]];

const HANDLERS: Record<MetaCommand["type"], Handler> = {
  "vhost.create": createVHost,
  "vhost.delete": deleteVHost,
  "exchange.declare": declareExchange,
  "exchange.delete": deleteExchange,
  "queue.declare": declareQueue,
  "queue.delete": deleteQueue,
  "queue.delete-internal": deleteQueueInternal,
  "queue.update-placement": updatePlacement,
  "queue.add-member": addMember,
  "queue.remove-member": removeMember,
  "node.join": joinNode,
  "node.forget": forgetNode,
  "binding.add": addBinding,
  "binding.remove": removeBinding,
  "connection.closed": connectionClosed,
  "node.down": nodeDown,
  "user.put": putUser,
  "user.delete": deleteUser,
  "user.bootstrap": bootstrapUser,
  "permission.set": setPermission,
  "permission.delete": deletePermission,
};

export class MetaMachine extends MetaQueries implements StateMachine<MetaCommand, MetaResult> {
  constructor() {
    const store = new MetaStore();
    initialStore(store);
    super(store);
  }

  apply(meta: ApplyMeta, command: MetaCommand): MetaResult {
    const changes: MetaChange[] = [];
    const ctx: ApplyContext = { store: this.store, index: meta.index, time: meta.time, changes };
    try {
      const cmd = checkCommandShape(command);
      const handler = HANDLERS[cmd.type] as (ctx: ApplyContext, cmd: MetaCommand) => object;
      return { reply: { ok: true, ...handler(ctx, cmd) } as MetaResult["reply"], changes };
    } catch (err) {
      // Handlers check before they change anything, so a refusal leaves the store as it was.
      if (err instanceof WarrenError) return { reply: { ok: false, error: err.toData() }, changes: [] };
      throw err;
    }
  }

  snapshot(): MachineSnapshot {
    const state = packr.pack({ version: SNAPSHOT_VERSION, store: this.store.toData() });
    return { state, live: [] };
  }

  restore(snapshot: MachineSnapshot, _meta?: { readonly index: number; readonly term: number }): void {
    const decoded = packr.unpack(snapshot.state) as { version?: unknown; store?: StoreData };
    if (decoded.version !== SNAPSHOT_VERSION || decoded.store === undefined) {
      throw new CorruptStorageError(
        `metadata snapshot version ${String(decoded.version)} is not ${SNAPSHOT_VERSION}`,
      );
    }
    this.store = MetaStore.fromData(decoded.store);
  }
}
