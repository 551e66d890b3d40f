import { describe, expect, it } from "vitest";
import { type ConfStep, nextConfStep, type PlanInput } from "./membership-plan.js";

const input = (over: Partial<PlanInput>): PlanInput => ({
  self: "n1",
  desired: ["n1", "n2", "n3"],
  conf: { voters: ["n1", "n2", "n3"], learners: [] },
  match: new Map([
    ["n1", 100],
    ["n2", 100],
    ["n3", 100],
  ]),
  commit: 100,
  lastIndex: 100,
  ...over,
});

describe("membership plan (one server at a time, learners first)", () => {
  it("a configuration that matches the members needs nothing", () => {
    expect(nextConfStep(input({}))).toEqual({ kind: "done" });
  });

  it("a new member joins as a learner, votes only once caught up", () => {
    const desired = ["n1", "n2", "n3", "n4"];
    expect(nextConfStep(input({ desired }))).toEqual({ kind: "add-learner", node: "n4" });
    const learning = { voters: ["n1", "n2", "n3"], learners: ["n4"] };
    const behind = new Map([...input({}).match, ["n4", 0]]);
    expect(nextConfStep(input({ desired, conf: learning, match: behind })).kind).toBe("wait");
    const close = new Map([...input({}).match, ["n4", 90]]);
    expect(nextConfStep(input({ desired, conf: learning, match: close }))).toEqual({
      kind: "promote",
      node: "n4",
    });
  });

  it("moving a replica adds the new one before removing the old one (the replication factor holds)", () => {
    const desired = ["n1", "n2", "n4"];
    const steps: ConfStep[] = [];
    let conf = { voters: ["n1", "n2", "n3"], learners: [] as string[] };
    const match = new Map([
      ["n1", 100],
      ["n2", 100],
      ["n3", 100],
      ["n4", 100],
    ]);
    for (let i = 0; i < 5; i++) {
      const step = nextConfStep(input({ desired, conf, match }));
      steps.push(step);
      if (step.kind === "add-learner") conf = { ...conf, learners: [...conf.learners, step.node] };
      else if (step.kind === "promote")
        conf = {
          voters: [...conf.voters, step.node],
          learners: conf.learners.filter((n) => n !== step.node),
        };
      else if (step.kind === "remove") conf = { ...conf, voters: conf.voters.filter((n) => n !== step.node) };
      else break;
    }
    expect(steps).toEqual([
      { kind: "add-learner", node: "n4" },
      { kind: "promote", node: "n4" },
      { kind: "remove", node: "n3" },
      { kind: "done" },
    ]);
  });

  it("a leader that must go hands leadership to a caught-up member first", () => {
    const desired = ["n2", "n3"];
    expect(nextConfStep(input({ desired }))).toEqual({ kind: "transfer", to: "n2" });
    const lagging = new Map([
      ["n1", 100],
      ["n2", 99],
      ["n3", 100],
    ]);
    expect(nextConfStep(input({ desired, match: lagging }))).toEqual({ kind: "transfer", to: "n3" });
  });

  it("other unwanted voters go before the leader itself, and no voter goes while a learner catches up", () => {
    const desired = ["n2", "n4"];
    const conf = { voters: ["n1", "n2", "n3"], learners: ["n4"] };
    const match = new Map([
      ["n1", 100],
      ["n2", 100],
      ["n3", 100],
      ["n4", 0],
    ]);
    expect(nextConfStep(input({ desired, conf, match })).kind).toBe("wait");
    const voters = { voters: ["n1", "n2", "n3", "n4"], learners: [] };
    expect(nextConfStep(input({ desired, conf: voters }))).toEqual({ kind: "remove", node: "n3" });
  });

  it("a learner that is no longer wanted is removed", () => {
    const conf = { voters: ["n1", "n2", "n3"], learners: ["n4"] };
    expect(nextConfStep(input({ conf }))).toEqual({ kind: "remove", node: "n4" });
  });
});
