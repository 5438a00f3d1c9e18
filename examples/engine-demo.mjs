// A small engine demo (the README's main job until the trainer exists): fits a linear
// regression y = 3 x0 - 2 x1 + 0.5 with AdamW-free plain gradient descent, showing the loss fall.
import * as torch from "@stts/torch";

torch.manualSeed(0);
const x = torch.randn([256, 2]);
const trueW = torch.tensor([[3], [-2]]);
const y = torch.scope(() => x.matmul(trueW).add(0.5).add(torch.randn([256, 1]).mul(0.01)));
const w = torch.keep(torch.zeros([2, 1], { requiresGrad: true }));
const b = torch.keep(torch.zeros([1], { requiresGrad: true }));
const lr = 0.1;
for (let step = 0; step <= 100; step++) {
  const loss = torch.scope(() => {
    const l = torch.functional.mseLoss(x.matmul(w).add(b), y);
    l.backward();
    torch.noGrad(() => {
      for (const p of [w, b]) {
        const g = p.grad;
        p.sub_(g, lr);
        g.zero_();
      }
    });
    return l.item();
  });
  if (step % 20 === 0) console.log(`step ${String(step).padStart(3)}  mse ${loss.toFixed(6)}`);
}
console.log(`learned w = ${JSON.stringify(w.toArray().flat().map((v) => +v.toFixed(3)))}, b = ${b.item().toFixed(3)}`);
console.log(`libtorch ${torch.buildInfo().version}, threads ${torch.getNumThreads()}, live tensors ${torch.liveTensorCount()}`);
