import * as torch from "@stts/torch";
const w = torch.tensor([[1, 2], [3, 4]], { dtype: "float64", requiresGrad: true });
const x = torch.tensor([[1], [1]], { dtype: "float64" });
const y = torch.scope(() => { const out = w.matmul(x).pow(2).sum(); out.backward(); return out; });
const g = w.grad.toArray();
if (y.item() !== 58 || JSON.stringify(g) !== JSON.stringify([[6, 6], [14, 14]])) throw new Error("wrong");
try { torch.ones([2, 3]).matmul(torch.ones([2, 3])); throw new Error("no throw"); } catch (e) { if (!/shape|size|mat/i.test(e.message)) throw e; }
console.log("ok");
