// torch.nn: Module registration, naming, tying, state dicts, modes, conversion, the layers and init.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "../src/index.js";
import type { Tensor } from "../src/index.js";
import {
  Dropout,
  Embedding,
  LayerNorm,
  Linear,
  Module,
  ModuleList,
  StateDictError,
  functionalCall,
  init,
} from "../src/nn/index.js";
import { assertClose, gradcheck, handleCount, values } from "./util.js";

/** Runs `fn` in a scope and checks that no tensor handle outlives it. */
function noLeaks(fn: () => void): void {
  const before = handleCount();
  torch.scope(fn);
  assert.equal(handleCount(), before, "live tensor count after the test");
}

// A miniature of Hugging Face's BERT module tree, to check checkpoint-style names.
class SelfAttention extends Module {
  readonly query = this.registerModule("query", new Linear(4, 4));
  readonly key = this.registerModule("key", new Linear(4, 4));
  readonly value = this.registerModule("value", new Linear(4, 4));
}

class Attention extends Module {
  readonly self = this.registerModule("self", new SelfAttention());
  readonly dense = this.registerModule("dense", new Linear(4, 4));
  readonly norm = this.registerModule("LayerNorm", new LayerNorm(4));
  readonly dropout = this.registerModule("dropout", new Dropout(0.1));
}

class Layer extends Module {
  readonly attention = this.registerModule("attention", new Attention());
}

class Encoder extends Module {
  readonly layer = this.registerModule("layer", new ModuleList([new Layer(), new Layer()]));
}

class Bert extends Module {
  readonly embeddings = this.registerModule("embeddings", new Embedding(6, 4, { paddingIdx: 0 }));
  readonly encoder = this.registerModule("encoder", new Encoder());
  constructor() {
    super();
    // registered after the submodules, listed before them (a module's own tensors come first)
    this.registerParameter("scale", torch.ones([1]));
    this.registerBuffer("positionIds", torch.arange(0, 3));
    this.registerBuffer("cache", torch.zeros([2]), { persistent: false });
  }
}

const linearKeys = (prefix: string) => [`${prefix}.weight`, `${prefix}.bias`];
const layerKeys = (i: number) => {
  const attention = `encoder.layer.${i}.attention`;
  return [
    ...linearKeys(`${attention}.self.query`),
    ...linearKeys(`${attention}.self.key`),
    ...linearKeys(`${attention}.self.value`),
    ...linearKeys(`${attention}.dense`),
    ...linearKeys(`${attention}.LayerNorm`),
  ];
};
const BERT_PARAMETERS = ["scale", "embeddings.weight", ...layerKeys(0), ...layerKeys(1)];

/** Embedding + Linear decoder sharing one weight, like a masked-language-model head. */
class TiedLm extends Module {
  readonly emb = this.registerModule("emb", new Embedding(5, 3));
  readonly decoder = this.registerModule("decoder", new Linear(3, 5, { bias: false }));
  constructor() {
    super();
    this.setParameter("decoder.weight", this.emb.weight);
  }
  override forward(indices: Tensor): Tensor {
    return torch.scope(() => this.decoder.forward(this.emb.forward(indices)));
  }
}

describe("Module", () => {
  it("names parameters with dotted paths, own tensors first, then submodules in registration order", () => {
    noLeaks(() => {
      const bert = new Bert();
      assert.deepEqual([...bert.namedParameters().keys()], BERT_PARAMETERS);
      assert.equal(bert.parameters().length, BERT_PARAMETERS.length);
      assert.ok(bert.parameters().every((p) => p.requiresGrad && p.isLeaf));
      assert.deepEqual([...bert.namedBuffers().keys()], ["positionIds", "cache"]);
      assert.deepEqual([...bert.namedChildren().keys()], ["embeddings", "encoder"]);
      assert.deepEqual([...bert.encoder.layer.namedChildren().keys()], ["0", "1"]);
      assert.deepEqual([...bert.namedModules().keys()].slice(0, 6), [
        "",
        "embeddings",
        "encoder",
        "encoder.layer",
        "encoder.layer.0",
        "encoder.layer.0.attention",
      ]);
      assert.equal(bert.getSubmodule("encoder.layer.1.attention.self"), bert.encoder.layer.at(1).attention.self);
      assert.equal(
        bert.getParameter("encoder.layer.0.attention.self.query.weight"),
        bert.encoder.layer.at(0).attention.self.query.weight,
      );
      assert.deepEqual(bert.getParameter("encoder.layer.0.attention.LayerNorm.weight").shape, [4]);
      // scale 1 + embeddings 6*4 + per layer 4 linears of 4*4+4 and a LayerNorm of 4+4
      assert.equal(bert.numParameters(), 1 + 24 + 2 * (4 * 20 + 8));
      bert.dispose();
    });
  });

  it("ModuleList indexes, iterates and counts its modules", () => {
    noLeaks(() => {
      const list = new ModuleList([new Linear(2, 2), new Linear(2, 3)]).append(new Linear(3, 1));
      assert.equal(list.length, 3);
      assert.equal(list.at(-1).outFeatures, 1);
      assert.deepEqual(
        [...list].map((l) => l.outFeatures),
        [2, 3, 1],
      );
      assert.deepEqual([...list.namedParameters().keys()].slice(0, 3), ["0.weight", "0.bias", "1.weight"]);
      assert.throws(() => list.at(3), /ModuleList.at\(3\): index out of range for a list of 3/);
      assert.throws(() => list.forward(), /ModuleList does not define forward\(\)/);
      list.dispose();
    });
  });

  it("rejects duplicate, dotted and non-leaf registrations with the name in the message", () => {
    noLeaks(() => {
      const m = new Linear(2, 2);
      assert.throws(
        () => m.registerParameter("weight", torch.zeros([2])),
        /Linear: cannot register parameter 'weight': a parameter of that name is already registered \(use setParameter to replace it\)/,
      );
      assert.throws(() => m.registerBuffer("a.b", torch.zeros([2])), /must not contain "."/);
      const computed = torch.ones([2], { requiresGrad: true }).mul(2);
      assert.throws(
        () => m.registerParameter("c", computed),
        /parameter 'c' must be a leaf tensor \(it was computed by MulBackward\d\); pass tensor.detach\(\)/,
      );
      assert.throws(() => m.registerParameter("i", torch.zeros([2], { dtype: "int64" })), /must be floating point/);
      assert.throws(() => m.getParameter("missing"), /no such parameter \(Linear has: weight, bias\)/);
      assert.throws(() => m.getSubmodule("x.y"), /Linear has no submodule 'x'/);
      assert.throws(() => m.registerModule("self", m), /a module cannot contain itself/);
      m.dispose();
    });
  });

  it("keeps registered tensors alive past the scope that created them", () => {
    const before = handleCount();
    const m = torch.scope(() => new Linear(3, 2));
    assert.equal(m.weight.isDisposed, false);
    assert.equal(handleCount(), before + 2);
    m.dispose();
    assert.equal(m.weight.isDisposed, true);
    assert.equal(handleCount(), before);
  });

  it("counts a tied weight once, shares it everywhere and accumulates both uses' gradients into it", () => {
    noLeaks(() => {
      torch.manualSeed(0);
      const lm = new TiedLm();
      assert.equal(lm.decoder.weight, lm.emb.weight);
      assert.deepEqual([...lm.namedParameters().keys()], ["emb.weight"]);
      assert.equal(lm.parameters().length, 1);
      assert.equal(lm.numParameters(), 15);
      assert.deepEqual([...lm.stateDict().keys()], ["emb.weight", "decoder.weight"]);

      const indices = torch.tensor([1, 3, 3], { dtype: "int64" });
      lm.forward(indices).pow(2).sum().backward();
      // The same loss with the two uses untied: the tied gradient is their sum.
      const e = lm.emb.weight.detach().requiresGrad_();
      const w = lm.emb.weight.detach().requiresGrad_();
      const [ge, gw] = torch.autograd.grad(
        torch.functional.linear(torch.functional.embedding(indices, e), w).pow(2).sum(),
        [e, w],
      );
      assertClose(values(lm.emb.weight.grad!), values(ge!.add(gw!)), 1e-6, 1e-5);
      lm.zeroGrad();
      assert.equal(lm.emb.weight.grad, null);
      lm.dispose();
    });
  });

  it("setParameter disposes the replaced tensor unless it is still used", () => {
    noLeaks(() => {
      const a = new Linear(2, 2);
      const oldWeight = a.weight;
      const replacement = torch.zeros([2, 2]);
      a.setParameter("weight", replacement);
      assert.equal(oldWeight.isDisposed, true);
      assert.equal(a.weight, replacement);
      assert.equal(replacement.requiresGrad, true);
      const kept = a.bias!;
      a.setParameter("bias", torch.ones([2]), { disposeOld: false });
      assert.equal(kept.isDisposed, false);
      kept.dispose();
      assert.throws(
        () => a.setParameter("other", torch.zeros([1])),
        /no parameter of that name; use registerParameter/,
      );
      const frozen = a.registerParameter("frozen", torch.ones([2]), { requiresGrad: false });
      assert.equal(frozen.requiresGrad, false);
      a.setParameter("frozen", torch.zeros([2]));
      assert.equal(a.getParameter("frozen").requiresGrad, false, "the replacement inherits requiresGrad");
      const buffer = a.registerBuffer("running", torch.zeros([2]));
      a.setBuffer("running", torch.ones([2]));
      assert.equal(buffer.isDisposed, true);
      assert.deepEqual(values(a.getBuffer("running")), [1, 1]);
      a.dispose();
    });
  });

  it("stateDict gives detached views and loadStateDict copies them into another model", () => {
    noLeaks(() => {
      torch.manualSeed(0);
      const source = new Bert();
      torch.manualSeed(1);
      const target = new Bert();
      const state = source.stateDict();
      assert.deepEqual([...state.keys()], ["scale", "positionIds", "embeddings.weight", ...BERT_PARAMETERS.slice(2)]);
      const queryWeight = state.get("encoder.layer.0.attention.self.query.weight")!;
      assert.equal(queryWeight.requiresGrad, false);
      assert.ok(queryWeight.sharesMemoryWith(source.getParameter("encoder.layer.0.attention.self.query.weight")));
      assert.ok(!source.embeddings.weight.equal(target.embeddings.weight));

      const result = target.loadStateDict(state);
      assert.deepEqual(result, { missingKeys: [], unexpectedKeys: [] });
      for (const [name, parameter] of source.namedParameters()) {
        const loaded = target.getParameter(name);
        assert.ok(loaded.equal(parameter), `${name} loaded`);
        assert.ok(!loaded.sharesMemoryWith(parameter), `${name} copied`);
        assert.equal(loaded.requiresGrad, true);
      }
      const x = torch.randn([2, 4]);
      const layer = (m: Bert) => m.encoder.layer.at(1).attention.dense.forward(x);
      assert.ok(layer(target).equal(layer(source)));
      source.dispose();
      target.dispose();
    });
  });

  it("strict loadStateDict lists missing keys, unexpected keys and shape mismatches, and copies nothing", () => {
    noLeaks(() => {
      const model = new Linear(2, 3);
      const before = values(model.bias!);
      const bad = new Map([
        ["bias", torch.zeros([3])],
        ["extra", torch.zeros([1])],
      ]);
      assert.throws(
        () => model.loadStateDict(bad),
        (error: unknown) => {
          assert.ok(error instanceof StateDictError);
          assert.equal(
            error.message,
            [
              "Error(s) in loading state dict for Linear:",
              '  Missing key(s) (in the module, not in the state dict): "weight"',
              '  Unexpected key(s) (in the state dict, not in the module): "extra"',
              "  (pass { strict: false } to load the matching keys and get the others back)",
            ].join("\n"),
          );
          assert.deepEqual(error.missingKeys, ["weight"]);
          return true;
        },
      );
      assert.deepEqual(values(model.bias!), before, "nothing copied after a failed strict load");

      const misshapen = { weight: torch.zeros([3, 3]), bias: torch.zeros([2]), other: torch.zeros([1]) };
      assert.throws(
        () => model.loadStateDict(misshapen, { strict: false }),
        new RegExp(
          [
            "Error\\(s\\) in loading state dict for Linear:",
            '  Unexpected key\\(s\\) \\(in the state dict, not in the module\\): "other"',
            '  Shape mismatch for "weight": expected \\[3, 2\\] \\(module\\), got \\[3, 3\\]',
            '  Shape mismatch for "bias": expected \\[3\\] \\(module\\), got \\[2\\]$',
          ].join("\n"),
        ),
      );

      // not strict: the matching key is loaded (converted from float64), the others are reported
      const partial = new Map([
        ["bias", torch.tensor([1, 2, 3], { dtype: "float64" })],
        ["unused", torch.zeros([1])],
      ]);
      assert.deepEqual(model.loadStateDict(partial, { strict: false }), {
        missingKeys: ["weight"],
        unexpectedKeys: ["unused"],
      });
      assert.deepEqual(values(model.bias!), [1, 2, 3]);
      assert.equal(model.bias!.dtype, "float32");
      model.dispose();
    });
  });

  it("non-persistent buffers stay out of the state dict", () => {
    noLeaks(() => {
      const bert = new Bert();
      const keys = [...bert.stateDict().keys()];
      assert.ok(keys.includes("positionIds"));
      assert.ok(!keys.includes("cache"));
      bert.dispose();
    });
  });

  it("train() and eval() set the training flag on every submodule", () => {
    noLeaks(() => {
      const bert = new Bert();
      assert.ok(bert.modules().every((m) => m.training));
      assert.equal(bert.eval(), bert);
      assert.ok(bert.modules().every((m) => !m.training));
      assert.equal(bert.encoder.layer.at(1).attention.dropout.training, false);
      bert.encoder.train();
      assert.equal(bert.training, false);
      assert.equal(bert.encoder.layer.at(0).attention.dropout.training, true);
      bert.dispose();
    });
  });

  it('to("float64") converts parameters in place, keeps requiresGrad, gradients and ties, and leaves integer buffers', () => {
    noLeaks(() => {
      torch.manualSeed(0);
      const lm = new TiedLm();
      const bert = new Bert();
      const before = values(lm.emb.weight);
      const oldWeight = lm.emb.weight;
      lm.forward(torch.tensor([0, 2], { dtype: "int64" }))
        .sum()
        .backward();
      const gradBefore = values(lm.emb.weight.grad!);

      assert.equal(lm.to("float64"), lm);
      const weight = lm.emb.weight;
      assert.equal(weight.dtype, "float64");
      assert.ok(weight.requiresGrad && weight.isLeaf);
      assert.equal(lm.decoder.weight, weight, "still tied");
      assert.deepEqual(values(weight), before);
      assert.equal(weight.grad!.dtype, "float64");
      assert.deepEqual(values(weight.grad!), gradBefore);
      assert.equal(oldWeight.isDisposed, true);

      const scale = bert.getParameter("scale");
      bert.to("cpu");
      assert.equal(bert.getParameter("scale"), scale, "already there: the same tensor");
      bert.to("float64");
      assert.ok(bert.parameters().every((p) => p.dtype === "float64" && p.requiresGrad));
      assert.equal(bert.getBuffer("positionIds").dtype, "int64");
      assert.equal(bert.getBuffer("cache").dtype, "float64");
      assert.throws(
        () => bert.to("int32"),
        /Bert.to: expected a floating-point dtype \(float32, .*\) or a device .*, got 'int32'/,
      );
      assert.throws(() => bert.to("float"), /got 'float'/);
      lm.dispose();
      bert.dispose();
    });
  });

  it("zeroGrad(false) zeroes gradients instead of clearing them", () => {
    noLeaks(() => {
      const fc = new Linear(2, 1);
      fc.forward(torch.ones([1, 2]))
        .sum()
        .backward();
      assert.deepEqual(values(fc.weight.grad!), [1, 1]);
      fc.zeroGrad(false);
      assert.deepEqual(values(fc.weight.grad!), [0, 0]);
      assert.deepEqual(values(fc.bias!.grad!), [0]);
      fc.dispose();
    });
  });

  it("functionalCall runs forward with substitute tensors and restores the originals", () => {
    noLeaks(() => {
      const fc = new Linear(2, 1);
      const original = fc.weight;
      const y = functionalCall(
        fc,
        new Map([
          ["weight", torch.tensor([[2, 3]])],
          ["bias", torch.tensor([1])],
        ]),
        () => fc.forward(torch.tensor([[1, 1]])),
      );
      assert.deepEqual(values(y), [6]); // 2 + 3 + 1
      assert.equal(fc.weight, original);
      assert.throws(() => functionalCall(fc, new Map([["nope", original]]), () => 0), /Linear has no tensor 'nope'/);
      fc.dispose();
      // replacing one name of a tied tensor replaces it everywhere, like torch.func.functional_call
      const lm = new TiedLm();
      const substitute = torch.zeros([5, 3]);
      functionalCall(lm, new Map([["decoder.weight", substitute]]), () => {
        assert.equal(lm.emb.weight, substitute);
        assert.equal(lm.decoder.weight, substitute);
      });
      assert.notEqual(lm.emb.weight, substitute);
      assert.equal(lm.emb.weight, lm.decoder.weight);
      lm.dispose();
    });
  });

  it("returns the live-tensor count to its baseline after forward/backward in a scope and dispose()", () => {
    const baseline = handleCount();
    torch.manualSeed(0);
    const bert = new Bert();
    const afterConstruction = handleCount();
    for (let step = 0; step < 3; step++) {
      torch.scope(() => {
        const attention = bert.encoder.layer.at(0).attention;
        const hidden = bert.embeddings.forward(torch.tensor([[1, 2, 0]], { dtype: "int64" }));
        const q = attention.self.query.forward(hidden);
        attention.norm
          .forward(attention.dropout.forward(attention.dense.forward(q)))
          .sum()
          .backward();
      });
      assert.equal(handleCount(), afterConstruction, `after step ${step}`);
    }
    bert.zeroGrad();
    bert.dispose();
    assert.equal(handleCount(), baseline);
  });

  it("prints the module tree", () => {
    noLeaks(() => {
      const list = new ModuleList([new Linear(2, 3), new Dropout(0.25)]);
      assert.equal(
        list.toString(),
        "ModuleList(\n  (0): Linear(inFeatures=2, outFeatures=3, bias=true)\n  (1): Dropout(p=0.25)\n)",
      );
      list.dispose();
    });
  });
});

describe("Linear", () => {
  it("computes x W^T + b", () => {
    noLeaks(() => {
      const fc = new Linear(2, 3);
      fc.loadStateDict({
        weight: torch.tensor([
          [1, 2],
          [3, 4],
          [5, 6],
        ]),
        bias: torch.tensor([0.5, -1, 2]),
      });
      const y = fc.forward(
        torch.tensor([
          [1, 1],
          [2, -1],
        ]),
      );
      // [1, 1]: [1+2, 3+4, 5+6] + b = [3.5, 6, 13]; [2, -1]: [0, 2, 4] + b = [0.5, 1, 6]
      assert.deepEqual(y.toArray(), [
        [3.5, 6, 13],
        [0.5, 1, 6],
      ]);
      assert.deepEqual(fc.forward(torch.ones([4, 5, 2])).shape, [4, 5, 3]);
      const noBias = new Linear(2, 3, { bias: false });
      assert.equal(noBias.bias, null);
      assert.deepEqual([...noBias.namedParameters().keys()], ["weight"]);
      fc.dispose();
      noBias.dispose();
    });
  });

  it("matches PyTorch's seeded initialisation exactly (weight then bias, bound 1/sqrt(in))", () => {
    noLeaks(() => {
      // python3 -c "import torch; torch.manual_seed(0); a = torch.nn.Linear(4, 3); b = torch.nn.Linear(3, 2);
      //   print(a.weight.flatten().tolist(), a.bias.tolist(), b.weight.flatten().tolist(), b.bias.tolist())"
      // (torch 2.13.0+cpu)
      const aWeight = [
        -0.003743410110473633, 0.26822179555892944, -0.4115225672721863, -0.3679695129394531, -0.19257718324661255,
        0.13407868146896362, -0.009906589984893799, 0.39644473791122437, -0.04437202215194702, 0.1323062777519226,
        -0.15110653638839722, -0.09828269481658936,
      ];
      const aBias = [-0.4776742458343506, -0.33114105463027954, -0.20611155033111572];
      const bWeight = [
        0.021387115120887756, 0.22824688255786896, 0.34642332792282104, -0.3914094567298889, -0.25141456723213196,
        0.2097034901380539,
      ];
      const bBias = [0.47942468523979187, -0.11881878226995468];
      torch.manualSeed(0);
      const a = new Linear(4, 3);
      const b = new Linear(3, 2);
      assert.deepEqual(values(a.weight), aWeight);
      assert.deepEqual(values(a.bias!), aBias);
      assert.deepEqual(values(b.weight), bWeight);
      assert.deepEqual(values(b.bias!), bBias);
      assert.ok(values(a.weight).every((v) => Math.abs(v) <= 0.5));
      a.dispose();
      b.dispose();
    });
  });

  it("has gradients for input, weight and bias that agree with finite differences", () => {
    noLeaks(() => {
      torch.manualSeed(3);
      const fc = new Linear(3, 2, { dtype: "float64" });
      const x = torch.randn([4, 3], { dtype: "float64" });
      gradcheck(
        (input, weight, bias) =>
          functionalCall(
            fc,
            new Map([
              ["weight", weight!],
              ["bias", bias!],
            ]),
            () => fc.forward(input!),
          ),
        [x, fc.weight, fc.bias!],
      );
      fc.dispose();
    });
  });
});

describe("LayerNorm", () => {
  it("normalises the last dimension with the biased variance, then scales and shifts", () => {
    noLeaks(() => {
      const norm = new LayerNorm(4, { eps: 0.75, dtype: "float64" });
      assert.deepEqual(values(norm.weight!), [1, 1, 1, 1]);
      assert.deepEqual(values(norm.bias!), [0, 0, 0, 0]);
      norm.loadStateDict({ weight: torch.tensor([1, 2, -1, 0.5]), bias: torch.tensor([0, 1, 0, -1]) });
      const y = norm.forward(
        torch.tensor(
          [
            [1, 2, 3, 4],
            [2, 2, 2, 2],
          ],
          { dtype: "float64" },
        ),
      );
      // row 1: mean 2.5, var (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25, + eps = 2, so (x - 2.5) / sqrt(2)
      //   = [-1.5, -0.5, 0.5, 1.5] / sqrt(2), then * [1, 2, -1, 0.5] + [0, 1, 0, -1]
      // row 2: constant, so x - mean = 0 and the output is the bias
      const r = Math.SQRT1_2;
      assertClose(y.toArray(), [
        [-1.5 * r, -0.5 * r * 2 + 1, -0.5 * r, 1.5 * r * 0.5 - 1],
        [0, 1, 0, -1],
      ]);
      const plain = new LayerNorm([2, 2], { elementwiseAffine: false });
      assert.equal(plain.weight, null);
      assert.equal(plain.parameters().length, 0);
      const noBias = new LayerNorm(3, { bias: false });
      assert.deepEqual([...noBias.namedParameters().keys()], ["weight"]);
      norm.dispose();
      plain.dispose();
      noBias.dispose();
    });
  });

  it("has gradients for input, weight and bias that agree with finite differences", () => {
    noLeaks(() => {
      torch.manualSeed(4);
      const norm = new LayerNorm(3, { eps: 1e-5, dtype: "float64" });
      const x = torch.randn([2, 3], { dtype: "float64" });
      const weight = torch.randn([3], { dtype: "float64" });
      const bias = torch.randn([3], { dtype: "float64" });
      gradcheck(
        (input, w, b) =>
          functionalCall(
            norm,
            new Map([
              ["weight", w!],
              ["bias", b!],
            ]),
            () => norm.forward(input!),
          ),
        [x, weight, bias],
      );
      norm.dispose();
    });
  });
});

describe("Embedding", () => {
  it("looks up rows, and the padding row gets no gradient", () => {
    noLeaks(() => {
      const emb = new Embedding(5, 2, { paddingIdx: 1 });
      assert.equal(emb.paddingIdx, 1);
      emb.loadStateDict({ weight: torch.arange(0, 10).reshape([5, 2]) });
      const indices = torch.tensor(
        [
          [4, 0],
          [1, 1],
        ],
        { dtype: "int64" },
      );
      const out = emb.forward(indices);
      assert.deepEqual(out.toArray(), [
        [
          [8, 9],
          [0, 1],
        ],
        [
          [2, 3],
          [2, 3],
        ],
      ]);
      out.sum().backward();
      // each row's gradient counts its uses; row 1 (padding, used twice) gets none
      assert.deepEqual(emb.weight.grad!.toArray(), [
        [1, 1],
        [0, 0],
        [0, 0],
        [0, 0],
        [1, 1],
      ]);
      emb.dispose();
    });
  });

  it("initialises from N(0, 1) like PyTorch with the padding row zeroed", () => {
    noLeaks(() => {
      // python3 -c "import torch; torch.manual_seed(0);
      //   print(torch.nn.Embedding(5, 4, padding_idx=-4).weight.flatten().tolist())"  (torch 2.13.0+cpu)
      const expected = [
        -1.1258398294448853, -1.152360200881958, -0.2505785822868347, -0.4338788092136383, 0, 0, 0, 0,
        0.46809640526771545, -0.1577124446630478, 1.4436601400375366, 0.26604941487312317, 1.3893661499023438,
        1.586334228515625, 0.946298360824585, -0.843676745891571, 0.9318265914916992, 1.2590092420578003,
        2.0049805641174316, 0.05373690277338028,
      ];
      torch.manualSeed(0);
      const emb = new Embedding(5, 4, { paddingIdx: -4 });
      assert.equal(emb.paddingIdx, 1);
      assert.deepEqual(values(emb.weight), expected);
      assert.throws(() => new Embedding(5, 4, { paddingIdx: 5 }), /paddingIdx must be an integer in \[-5, 5\), got 5/);
      emb.dispose();
    });
  });
});

describe("Dropout", () => {
  it("in training zeroes about p of the elements and scales the rest by 1/(1-p); in eval it is the identity", () => {
    noLeaks(() => {
      torch.manualSeed(0);
      const drop = new Dropout(0.3);
      assert.equal(drop.p, 0.3);
      const x = torch.ones([100, 100]);
      const y = values(drop.forward(x));
      const zeros = y.filter((v) => v === 0).length;
      // 10,000 Bernoulli(0.3) draws: the zero count has standard deviation ~46
      assert.ok(zeros > 2800 && zeros < 3200, `zeroed ${zeros} of 10000`);
      const kept = new Float32Array([1 / 0.7])[0]!;
      assert.ok(
        y.every((v) => v === 0 || v === kept),
        "survivors scaled by 1/(1-p)",
      );

      drop.eval();
      const z = torch.randn([3, 4]);
      assert.deepEqual(values(drop.forward(z)), values(z));
      drop.train();
      assert.deepEqual(values(new Dropout(0).forward(z)), values(z));
      assert.ok(values(new Dropout(1).forward(z)).every((v) => v === 0));
      assert.equal(new Dropout().p, 0.5);
      assert.throws(() => new Dropout(1.5), /Dropout: p must be in \[0, 1\], got 1.5/);
    });
  });
});

describe("init", () => {
  // Every oracle below: python3 -c "import torch; torch.manual_seed(0); t = torch.empty(...); torch.nn.init.X(t, ...);
  //   print(t.flatten().tolist())"  with torch 2.13.0+cpu, which uses the same CPU generator as libtorch.
  const seeded = (shape: number[], fill: (t: Tensor) => Tensor, dtype: "float32" | "float64" = "float32") => {
    torch.manualSeed(0);
    return values(fill(torch.empty(shape, { dtype })));
  };

  it("kaimingUniform_ with mode fan_out and relu matches PyTorch", () => {
    noLeaks(() => {
      // kaiming_uniform_(empty(3, 5), mode="fan_out", nonlinearity="relu"): bound sqrt(2) * sqrt(3 / 3) = sqrt(2)
      const expected = [
        -0.010587962344288826, 0.75864577293396, -1.1639615297317505, -1.040774941444397, -0.5446904897689819,
        0.3792317807674408, -0.028020067140460014, 1.1213150024414062, -0.1255030333995819, 0.3742186725139618,
        -0.4273938238620758, -0.27798542380332947, -1.3510668277740479, -0.9366083145141602, -0.5829715132713318,
      ];
      assert.deepEqual(
        seeded([3, 5], (t) => init.kaimingUniform_(t, { mode: "fan_out", nonlinearity: "relu" })),
        expected,
      );
    });
  });

  it("xavierUniform_ matches PyTorch", () => {
    noLeaks(() => {
      // xavier_uniform_(empty(3, 5), gain=2.0): bound 2 * sqrt(6 / 8)
      const expected = [
        -0.012967552989721298, 0.9291475415229797, -1.425555944442749, -1.2746837139129639, -0.6671069264411926,
        0.46446216106414795, -0.03431743383407593, 1.3733248710632324, -0.15370918810367584, 0.4583223760128021,
        -0.5234484076499939, -0.34046122431755066, -1.6547120809555054, -1.1471062898635864, -0.7139913439750671,
      ];
      assert.deepEqual(
        seeded([3, 5], (t) => init.xavierUniform_(t, 2)),
        expected,
      );
    });
  });

  it("normal_ matches PyTorch (BERT's initializer_range init)", () => {
    noLeaks(() => {
      // normal_(empty(6, 4), 0, 0.02)
      const expected = [
        -0.022516796365380287, -0.023047203198075294, -0.005011571571230888, -0.00867757573723793, 0.016974207013845444,
        0.013840182684361935, -0.006320255342870951, -0.0423043854534626, 0.009361928328871727, -0.003154248930513859,
        0.028873201459646225, 0.0053209881298244, 0.0033291068393737078, 0.01748763583600521, -0.0028694767970591784,
        -0.002232186496257782, 0.018636532127857208, 0.025180183351039886, 0.0400996096432209, 0.0010747379856184125,
        0.01236113253980875, -0.008256044238805771, -0.016821295022964478, -0.0463208369910717,
      ];
      assert.deepEqual(
        seeded([6, 4], (t) => init.normal_(t, 0, 0.02)),
        expected,
      );
    });
  });

  it("truncNormal_ matches PyTorch and stays within [a, b]", () => {
    noLeaks(() => {
      // trunc_normal_(empty(4, 5), mean=0.5, std=2.0, a=-1.0, b=3.0): 67% of the mass, normal draws redrawn outside
      const expected = [
        1.3793916702270508, 0.7248224020004272, -0.0011571645736694336, -0.3677576184272766, 1.6976789236068726,
        -0.4006595015525818, -0.18272078037261963, -0.6107168197631836, 1.4361927509307861, 0.18457511067390442,
        1.5146688222885132, 1.0320987701416016, -0.23123759031295776, 0.8771071434020996, 2.39259672164917,
        -0.4898506999015808, 2.3636531829833984, 0.1123257577419281, 1.3910243511199951, 0.6074737906455994,
      ];
      assert.deepEqual(
        seeded([4, 5], (t) => init.truncNormal_(t, { mean: 0.5, std: 2, a: -1, b: 3 })),
        expected,
      );
      // trunc_normal_(empty(6, 4, dtype=torch.float64), std=0.02, a=-0.04, b=0.04)
      const expected64 = [
        0.015940200338500594, -0.007465017225155286, -0.021216333570925724, 0.019990187095623523, -0.017680500091665306,
        -0.025510938604296107, -0.01246449159732158, -0.017328832038251547, 0.004774361163363413, 0.014670567370545682,
        -0.026437636582842754, 0.026296227303942467, -0.02974991271301468, -0.014271506792937155, 0.01039997326357876,
        -0.019057712794065686, 0.013497150871880078, 0.020937307539629312, 0.0030859035729317898, -0.014997830456783883,
        -0.014467794009955764, 0.0017273978476469996, -0.034928098074564845, 0.020820249140670183,
      ];
      const got64 = seeded([6, 4], (t) => init.truncNormal_(t, { std: 0.02, a: -0.04, b: 0.04 }), "float64");
      assert.deepEqual(got64, expected64);
      assert.ok(got64.every((v) => v >= -0.04 && v <= 0.04));
      // trunc_normal_(empty(4, 5), mean=0.0, std=1.0, a=2.0, b=4.0): [a, b] holds 2% of the mass, so
      // PyTorch switches to uniform proposals on [a, b] accepted with probability pdf(x) / pdf(a)
      const tail = [
        2.0387067794799805, 2.013462543487549, 2.176954746246338, 2.066305160522461, 3.1871719360351562,
        2.4072933197021484, 2.8354387283325195, 2.542243003845215, 2.0999417304992676, 2.1803784370422363,
        2.7872848510742188, 2.3831324577331543, 2.044651508331299, 2.3377180099487305, 2.5877768993377686,
        3.037043571472168, 2.0088515281677246, 2.2246944904327393, 2.2199158668518066, 2.4834165573120117,
      ];
      assert.deepEqual(
        seeded([4, 5], (t) => init.truncNormal_(t, { a: 2, b: 4 })),
        tail,
      );
    });
  });

  it("zeros_, ones_, constant_ and the gain and fan helpers", () => {
    noLeaks(() => {
      const t = torch.empty([2, 3, 4], { requiresGrad: true });
      assert.deepEqual(values(init.zeros_(t)), new Array(24).fill(0));
      assert.deepEqual(values(init.ones_(t)), new Array(24).fill(1));
      assert.deepEqual(values(init.constant_(t, 0.5)), new Array(24).fill(0.5));
      assert.equal(t.isLeaf, true, "filled under noGrad");
      assert.deepEqual(init.calculateFanInAndFanOut(t), { fanIn: 12, fanOut: 8 });
      assert.equal(init.calculateGain("relu"), Math.SQRT2);
      assert.equal(init.calculateGain("tanh"), 5 / 3);
      // leaky_relu with slope sqrt(5): sqrt(2 / (1 + 5)), the gain behind Linear's 1/sqrt(fanIn) bound
      assertClose(init.calculateGain("leaky_relu", Math.sqrt(5)), Math.sqrt(1 / 3), 1e-15, 0);
      assert.throws(() => init.calculateFanInAndFanOut(torch.empty([3])), /at least 2 dimensions, got shape \[3\]/);
    });
  });
});
