/**
 * Crash consistency with a real process: a writer is killed with SIGKILL in the middle of its
 * batches. After a restart every acknowledged batch is there (durability of flushed writes), no
 * batch is half there across its 8 groups (a flush is one atomic LevelDB batch), and every log
 * loads without a CorruptStorageError.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { eventually, tempDirs } from "./helpers.js";

const t = tempDirs();
let child: ChildProcess | undefined;
afterEach(async () => {
  child?.kill("SIGKILL");
  child = undefined;
  await t.cleanup();
});

const WRITER = fileURLToPath(new URL("./fixtures/crash-writer.ts", import.meta.url));

describe("crash consistency", () => {
  it("keeps every acknowledged batch and never half of one after kill -9", async () => {
    const dir = await t.dir();
    let acked = -1;
    const proc = fork(WRITER, [dir], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    child = proc;
    proc.on("message", (b) => {
      acked = b as number;
    });
    // Let it get well into its stride, then kill it wherever it is.
    await eventually(() => expect(acked).toBeGreaterThanOrEqual(40), 30_000);
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill("SIGKILL");
    await exited;
    const ackedAtKill = acked;

    const s = await t.open(dir);
    expect(await s.groups()).toEqual(["g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7"]);
    const lasts = new Set<number>();
    for (const g of await s.groups()) {
      const { entries, hardState } = await s.load(g);
      const last = entries.at(-1)?.index ?? 0;
      lasts.add(last);
      expect(hardState?.commit).toBe(last);
    }
    // One atomic batch per flush: every group stopped at the same batch.
    expect(lasts.size).toBe(1);
    const [last] = lasts;
    expect(last! % 4).toBe(0);
    // Every acknowledged batch survived (later ones may have made it too).
    expect(last! / 4 - 1).toBeGreaterThanOrEqual(ackedAtKill);
  });
});
