import { describe, expect, it } from "vitest";
import { DEFAULTS, fillTemplate, nodeIndex, parseArgs, UsageError } from "./args.js";
import { computeRatios } from "./ratios.js";
import { BEGIN, END, replaceSection } from "./report.js";
import { longestGap, median, medianFields, percentileSorted, summarize } from "./stats.js";

const E_FLAGS = ["--nodes", "n1,n2", "--leader-cmd", "x {queue}", "--kill-cmd", "kill {node}"];

describe("bench:amqp arguments", () => {
  it("takes one URL or a comma-separated list, and defaults the rest", () => {
    const o = parseArgs(["--url", "amqp://a", "--scenarios", "a,b"]);
    expect(o.urls).toEqual(["amqp://a"]);
    expect(o.runs).toBe(DEFAULTS.runs);
    expect(o.scenarios).toEqual(["a", "b"]);
    const p = parseArgs(["--urls=amqp://a, amqp://b", "--label", "warren", "--runs=5", ...E_FLAGS]);
    expect(p.urls).toEqual(["amqp://a", "amqp://b"]);
    expect(p.label).toBe("warren");
    expect(p.runs).toBe(5);
    expect(p.killCmd).toBe("kill {node}");
  });

  it("refuses what it cannot run", () => {
    expect(() => parseArgs([])).toThrow(UsageError);
    expect(() => parseArgs(["--url", "amqp://a", "--runs", "0"])).toThrow(/positive integer/);
    expect(() => parseArgs(["--url", "amqp://a", "--bogus", "1"])).toThrow(/unknown flag/);
    expect(() => parseArgs(["--url"])).toThrow(/missing value/);
    expect(() => parseArgs(["--url", "amqp://a", "--scenarios", "z"])).toThrow(/unknown scenario/);
    // Scenario e (part of the default set) needs a way to find and kill the leader.
    expect(() => parseArgs(["--url", "amqp://a"])).toThrow(/--kill-cmd/);
    expect(() => parseArgs(["--urls", "amqp://a,amqp://b,amqp://c", ...E_FLAGS])).toThrow(/--nodes/);
  });

  it("fills command templates and maps a leader name to its node", () => {
    expect(fillTemplate("kill $(cat /d/{node}.pid) # {other}", { node: "n2" })).toBe(
      "kill $(cat /d/n2.pid) # {other}",
    );
    expect(nodeIndex(["rabbit1@localhost", "rabbit2@localhost"], "rabbit2@localhost")).toBe(1);
    expect(nodeIndex(["rabbit1", "rabbit2"], "rabbit2@vm")).toBe(1);
    expect(nodeIndex(["n1", "n2"], "n3")).toBe(-1);
  });
});

describe("bench:amqp statistics", () => {
  it("reads nearest-rank percentiles", () => {
    const xs = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentileSorted(xs, 50)).toBe(500);
    expect(percentileSorted(xs, 99)).toBe(990);
    expect(percentileSorted(xs, 99.9)).toBe(999);
    expect(percentileSorted(xs, 100)).toBe(1000);
    expect(percentileSorted(xs, 0)).toBe(1);
    expect(percentileSorted([], 50)).toBeNaN();
  });

  it("sorts numerically before summarizing", () => {
    const s = summarize([10, 9, 100, 1, 2]);
    expect(s).toMatchObject({ count: 5, p50: 9, p99: 100, max: 100 });
  });

  it("takes medians over runs", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
    expect(
      medianFields([
        { a: 1, b: 10 },
        { a: 3, b: 30 },
        { a: 2, b: 1000 },
      ]),
    ).toEqual({ a: 2, b: 30 });
  });

  it("finds the longest gap without confirms, counting both ends of the window", () => {
    expect(longestGap([1010, 1020, 1400, 1410], 1000, 1500)).toBe(380);
    // No confirm at all after the kill: the whole window is one gap.
    expect(longestGap([500], 1000, 1500)).toBe(500);
    // Confirms stop before the end of the window.
    expect(longestGap([1010, 1020], 1000, 2000)).toBe(980);
  });
});

describe("bench:amqp ratios", () => {
  const rabbit = {
    a: { msgPerSec: 15_000, confirmP99Ms: 60 },
    b: { msgPerSec: 16_000 },
    c: { p99Ms: 8 },
    d: { msgPerSec: 40_000 },
    e: { maxGapMs: 400, lost: 0 },
  };

  it("divides Warren's figure by RabbitMQ's and checks each target's direction", () => {
    const rows = computeRatios(
      {
        a: { msgPerSec: 30_000, confirmP99Ms: 40 },
        b: { msgPerSec: 20_000 },
        c: { p99Ms: 4 },
        e: { maxGapMs: 100, lost: 1 },
      },
      rabbit,
    );
    const get = (d: string) => rows.find((r) => r.describe.startsWith(d))!;
    expect(get("(a) confirmed")).toMatchObject({ ratio: 2, met: true });
    expect(get("(a) p99")).toMatchObject({ ratio: 0.667, met: false });
    expect(get("(b)")).toMatchObject({ ratio: 1.25, met: false });
    expect(get("(c)")).toMatchObject({ ratio: 0.5, met: true });
    // Warren did not measure (d): no ratio, no verdict.
    expect(get("(d)")).toMatchObject({ warren: undefined, ratio: undefined, met: undefined });
    expect(get("(e) longest")).toMatchObject({ ratio: 0.25, met: true });
    // Lost messages: Warren must lose none, whatever RabbitMQ does.
    expect(get("(e) confirmed")).toMatchObject({ warren: 1, met: false });
  });
});

describe("bench:amqp report", () => {
  it("replaces only the generated section of docs/performance.md", () => {
    const first = replaceSection("# Performance\n\nnotes\n", "table 1");
    expect(first).toBe(`# Performance\n\nnotes\n\n${BEGIN}\ntable 1\n${END}\n`);
    const second = replaceSection(`${first}\nmore notes\n`, "table 2");
    expect(second).toContain("table 2");
    expect(second).not.toContain("table 1");
    expect(second.startsWith("# Performance\n\nnotes\n")).toBe(true);
    expect(second.endsWith("more notes\n")).toBe(true);
  });
});
