/**
 * A quorum queue that lost the majority of its replicas for good (docs/operations.md): Warren has
 * no forced shrink (RabbitMQ's force_shrink_member_to_current_member), so the documented way out
 * is to delete the queue and declare it again, losing its messages. That must work while the
 * queue's own group has no quorum (the metadata group still has one), and the dead members'
 * stale replicas must go away when they come back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerCluster, client, declareSettled, eventually, publishText, str } from "./harness.js";

describe("a queue whose replicas' majority is lost for good", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    c = await BrokerCluster.start(5);
  });
  afterAll(async () => {
    await c.close();
  });

  it("is deleted and declared again through a surviving node; the dead members drop their replicas", async () => {
    const n1 = c.node("n1").broker;
    const before = await declareSettled(n1, "orders");
    expect((await publishText(n1, "orders", "lost with the queue")).kind).toBe("routed");
    const oldGroup = (await n1.getQueue("/", "orders"))!.record.group!;
    const [survivor, ...dead] = before.members;
    for (const id of dead) await c.kill(id!);

    const s = c.node(survivor!).broker;
    await s.deleteQueue(client(c.node(survivor!)), "orders", { ifUnused: false, ifEmpty: false });
    expect(await s.getQueue("/", "orders")).toBeUndefined();
    const again = await declareSettled(s, "orders");
    expect(again.members.some((m) => dead.includes(m))).toBe(false);
    expect((await publishText(s, "orders", "new")).kind).toBe("routed");
    const got = await s.get(client(c.node(survivor!)), 1, "orders", true);
    expect(got !== undefined && str(got.body)).toBe("new");

    await eventually(
      "the survivor dropped its replica of the old group",
      () => !c.node(survivor!).host.groupIds().includes(oldGroup),
    );
    for (const id of dead) {
      const back = await c.restart(id!);
      await eventually(
        `${id} deleted its replica of the old group`,
        async () =>
          !(await back.storage.groups()).includes(oldGroup) && !back.host.groupIds().includes(oldGroup),
        20_000,
      );
    }
  });
});
