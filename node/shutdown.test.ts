/**
 * The bounded graceful stop: steps run in order, a failing step does not keep the later ones
 * (the flush) from running, and a step that never finishes cannot hold the process past the
 * deadline; the log says which step was in progress and which never ran.
 */
import { describe, expect, it } from "vitest";
import type { Logger } from "../raft/logger.js";
import { runShutdown, type ShutdownStep } from "./shutdown.js";

function recordingLogger(): { logger: Logger; lines: Array<{ level: string; obj: object; msg?: string }> } {
  const lines: Array<{ level: string; obj: object; msg?: string }> = [];
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, obj, ...(msg !== undefined ? { msg } : {}) });
    };
  const logger: Logger = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: () => logger,
  };
  return { logger, lines };
}

const step = (
  name: string,
  ran: string[],
  run: () => Promise<void> = async () => undefined,
): ShutdownStep => ({
  name,
  run: async () => {
    ran.push(name);
    await run();
  },
});

describe("runShutdown", () => {
  it("runs every step in order and reports a clean stop", async () => {
    const ran: string[] = [];
    const { logger, lines } = recordingLogger();
    const result = await runShutdown([step("doors", ran), step("raft", ran), step("storage", ran)], {
      deadlineMs: 10_000,
      logger,
    });
    expect(ran).toEqual(["doors", "raft", "storage"]);
    expect(result).toMatchObject({ clean: true, failed: [], unfinished: [] });
    expect(
      lines.filter((l) => l.msg === "shutdown step done").map((l) => (l.obj as { step: string }).step),
    ).toEqual(["doors", "raft", "storage"]);
  });

  it("keeps going after a failing step, and reports the stop as unclean", async () => {
    const ran: string[] = [];
    const { logger, lines } = recordingLogger();
    const result = await runShutdown(
      [
        step("http door", ran, async () => {
          throw new Error("boom");
        }),
        step("storage", ran),
      ],
      { deadlineMs: 10_000, logger },
    );
    expect(ran).toEqual(["http door", "storage"]);
    expect(result).toMatchObject({ clean: false, failed: ["http door"], unfinished: [] });
    expect(lines.find((l) => l.level === "error")).toMatchObject({
      obj: { step: "http door" },
      msg: "shutdown step failed",
    });
  });

  it("gives up on a step that never finishes once the deadline passes, naming what did not run", async () => {
    const ran: string[] = [];
    const { logger, lines } = recordingLogger();
    const result = await runShutdown(
      [
        step("amqp door", ran),
        step("http door", ran, () => new Promise<void>(() => undefined)),
        step("storage", ran),
      ],
      { deadlineMs: 50, logger },
    );
    expect(ran).toEqual(["amqp door", "http door"]);
    expect(result).toMatchObject({ clean: false, failed: [], unfinished: ["http door", "storage"] });
    expect(lines.find((l) => l.level === "error")).toMatchObject({
      obj: { inProgress: "http door", notStarted: ["storage"], deadlineMs: 50 },
      msg: "shutdown deadline passed: exiting without finishing",
    });
  });
});
