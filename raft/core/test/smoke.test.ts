import { describe, expect, it } from "vitest";
import { Role } from "../types.js";
import { Network, text } from "./network.js";

describe("smoke", () => {
  it("elects, replicates and commits", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    expect(net.leaders()).toEqual(["a"]);
    net.propose("a", "x");
    net.stabilize();
    for (const id of ["a", "b", "c"]) expect(net.get(id).applied.map(text)).toEqual(["x"]);
    expect(net.raw("b").status().role).toBe(Role.Follower);
  });
});
