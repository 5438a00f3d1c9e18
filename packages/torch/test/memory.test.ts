// Memory: long training loops inside scopes leak no tensor handles; the GC finalizer is a backstop.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import * as torch from "../src/index.js";

describe("memory", () => {
  it("1,000 forward+backward iterations inside scope leave the live-tensor count where it started", () => {
    torch.manualSeed(0);
    const [w1, w2] = torch.scope(() => [torch.randn([8, 16]).mul(0.1), torch.randn([16, 1]).mul(0.1)]);
    const x = torch.randn([32, 8]);
    const y = torch.randn([32, 1]);
    for (const p of [w1!, w2!]) torch.keep(p).requiresGrad_();
    const before = torch.liveTensorCount();
    let first = 0;
    let last = 0;
    for (let step = 0; step < 1000; step++) {
      const loss = torch.scope(() => {
        const hidden = torch.functional.gelu(x.matmul(w1!));
        const out = torch.functional.mseLoss(hidden.matmul(w2!), y);
        out.backward();
        torch.noGrad(() => {
          for (const p of [w1!, w2!]) {
            p.sub_(p.grad!, 0.05);
            p.grad = null;
          }
        });
        return out.item();
      });
      if (step === 0) first = loss;
      last = loss;
    }
    assert.equal(torch.liveTensorCount(), before);
    assert.ok(last < first, `loss should fall: first ${first}, last ${last}`);
    for (const t of [w1!, w2!, x, y]) t.dispose();
  });

  it("the GC finalizer frees handles nobody disposed", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const collect = async (): Promise<void> => {
      for (let attempt = 0; attempt < 5; attempt++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await collect(); // earlier tests' forgotten handles go first
    const before = torch.liveTensorCount();
    (() => {
      for (let i = 0; i < 100; i++) torch.ones([4]); // created outside any scope and dropped
    })();
    assert.equal(torch.liveTensorCount(), before + 100);
    await collect();
    assert.equal(torch.liveTensorCount(), before);
  });
});
