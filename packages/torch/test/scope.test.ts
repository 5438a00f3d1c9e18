// Scopes: what they free, what they keep, and how they nest.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import { handleCount } from "./util.js";

describe("scope", () => {
  it("frees every tensor created inside except the returned one", () => {
    const before = handleCount();
    let inner: torch.Tensor | undefined;
    const out = torch.scope(() => {
      inner = torch.ones([3]);
      return inner.add(1).mul(2);
    });
    assert.equal(inner?.isDisposed, true);
    assert.deepEqual(out.toArray(), [4, 4, 4]);
    assert.equal(handleCount(), before + 1);
    out.dispose();
    assert.equal(handleCount(), before);
  });

  it("keeps tensors returned inside arrays, plain objects and Maps", () => {
    const before = handleCount();
    const { a, list, map } = torch.scope(() => {
      torch.zeros([2]); // dropped
      return { a: torch.ones([1]), list: [torch.ones([2])], map: new Map([["m", torch.ones([3])]]) };
    });
    assert.equal(handleCount(), before + 3);
    assert.equal(a.isDisposed || list[0]!.isDisposed || map.get("m")!.isDisposed, false);
    for (const t of [a, list[0]!, map.get("m")!]) t.dispose();
    assert.equal(handleCount(), before);
  });

  it("moves a kept tensor to the enclosing scope, which frees it in turn", () => {
    const before = handleCount();
    let survivor: torch.Tensor | undefined;
    torch.scope(() => {
      survivor = torch.scope(() => torch.ones([2]).neg());
      assert.equal(survivor.isDisposed, false);
      return undefined;
    });
    assert.equal(survivor?.isDisposed, true);
    assert.equal(handleCount(), before);
  });

  it("keep() takes a tensor out of every scope", () => {
    const before = handleCount();
    let kept: torch.Tensor | undefined;
    torch.scope(() => {
      kept = torch.keep(torch.ones([2]));
    });
    assert.equal(kept?.isDisposed, false);
    kept?.dispose();
    assert.equal(handleCount(), before);
  });

  it("frees what was created when the function throws, and rethrows", () => {
    const before = handleCount();
    assert.throws(
      () =>
        torch.scope(() => {
          torch.ones([2]);
          throw new Error("boom");
        }),
      /boom/,
    );
    assert.equal(handleCount(), before);
  });

  it("refuses an async function with a clear error", () => {
    const before = handleCount();
    assert.throws(
      () =>
        torch.scope(async () => {
          torch.ones([1]);
        }),
      /scope is synchronous/,
    );
    assert.equal(handleCount(), before);
  });

  it("dispose() is idempotent and a disposed tensor refuses use", () => {
    const t = torch.ones([2]);
    t.dispose();
    t.dispose();
    assert.equal(t.isDisposed, true);
    assert.throws(() => t.add(1), /has been disposed/);
    assert.throws(() => t.shape, /has been disposed/);
  });

  it("disposing a view leaves the base tensor valid", () => {
    const base = torch.arange(6, undefined, 1, { dtype: "float32" });
    const view = base.view([2, 3]);
    assert.equal(view.sharesMemoryWith(base), true);
    view.dispose();
    assert.deepEqual(base.toArray(), [0, 1, 2, 3, 4, 5]);
    base.dispose();
  });
});
