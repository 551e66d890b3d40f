/**
 * A quorum queue that lost the majority of its replicas for good (docs/operations.md): Warren has
 * no forced shrink (RabbitMQ's force_shrink_member_to_current_member), so the documented way out
 * is to delete the queue and declare it again, losing its messages. That must work while the
 * queue's own group has no quorum (the metadata group still has one), and the dead members'
 * stale replicas must go away when they come back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrokerService } from "../broker-service.js";
import { BrokerCluster, client, eventually, str, text } from "./harness.js";

const declare = (b: BrokerService, name: string) =>
  b.declareQueue(client({ id: b.nodeId } as never), {
    name,
    passive: false,
    durable: true,
    exclusive: false,
    autoDelete: false,
    arguments: {},
  });

const publish = (b: BrokerService, queue: string, body: string) =>
  b.publish(client({ id: b.nodeId } as never), {
    exchange: "",
    routingKey: queue,
    properties: { deliveryMode: 2 },
    body: text(body),
    mandatory: false,
  });

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
    await declare(n1, "orders");
    const before = await eventually("three settled members", async () => {
      const m = await n1.queueMembers("/", "orders");
      return m.settled && m.leader !== undefined ? m : undefined;
    });
    expect((await publish(n1, "orders", "lost with the queue")).kind).toBe("routed");
    const oldGroup = (await n1.getQueue("/", "orders"))!.record.group!;
    const [survivor, ...dead] = before.members;
    for (const id of dead) await c.kill(id!);

    const s = c.node(survivor!).broker;
    await s.deleteQueue(client(c.node(survivor!)), "orders", { ifUnused: false, ifEmpty: false });
    expect(await s.getQueue("/", "orders")).toBeUndefined();
    await declare(s, "orders");
    const again = await eventually("the new queue's members settled", async () => {
      const m = await s.queueMembers("/", "orders");
      return m.settled && m.leader !== undefined ? m : undefined;
    });
    expect(again.members.some((m) => dead.includes(m))).toBe(false);
    expect((await publish(s, "orders", "new")).kind).toBe("routed");
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
