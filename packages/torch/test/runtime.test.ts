// Build information: the libtorch version comparison the engine and the library use to pick code paths.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";

describe("libtorchVersionAtLeast", () => {
  it("compares major, then minor, against buildInfo().version", () => {
    const [major, minor] = torch.buildInfo().version.split(".").map(Number) as [number, number];
    assert.ok(Number.isInteger(major) && Number.isInteger(minor), torch.buildInfo().version);
    assert.equal(torch.libtorchVersionAtLeast(major, minor), true);
    assert.equal(torch.libtorchVersionAtLeast(major, minor + 1), false);
    assert.equal(torch.libtorchVersionAtLeast(major + 1, 0), false);
    assert.equal(torch.libtorchVersionAtLeast(major - 1, minor + 50), true);
    assert.equal(torch.libtorchVersionAtLeast(1, 0), true);
  });
});
