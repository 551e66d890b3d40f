/** The slicer's cutting rule (toxics/slicer.go chunk()), pure and seeded. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sliceOffsets } from "../stages.js";
import { seeded } from "./helpers.js";

describe("sliceOffsets", () => {
  it("covers [0, length) with contiguous slices no larger than average_size + size_variation", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 1, max: 64 }),
        fc.integer({ min: 0, max: 63 }),
        fc.integer(),
        (length, avg, rawVariation, seed) => {
          const variation = rawVariation % avg;
          const offsets = sliceOffsets(0, length, avg, variation, seeded(seed));
          expect(offsets[0]).toBe(0);
          expect(offsets.at(-1)).toBe(length);
          for (let i = 1; i < offsets.length; i += 2) {
            const size = offsets[i]! - offsets[i - 1]!;
            expect(size).toBeLessThanOrEqual(avg + variation);
            if (i + 1 < offsets.length) expect(offsets[i + 1]).toBe(offsets[i]);
          }
        },
      ),
    );
  });

  it("is reproducible from the seed", () => {
    expect(sliceOffsets(0, 1000, 30, 10, seeded(42))).toEqual(sliceOffsets(0, 1000, 30, 10, seeded(42)));
  });
});
