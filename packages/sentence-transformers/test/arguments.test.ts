// Training arguments: defaults, validation, and errors that name the key.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as torch from "@stts/torch";
import { DEFAULT_TRAINING_ARGUMENTS, defaultOptim, resolveTrainingArguments } from "../src/training/arguments.js";

describe("resolveTrainingArguments", () => {
  it("fills the reference's defaults", () => {
    const args = resolveTrainingArguments({ outputDir: "out" });
    assert.equal(args.outputDir, "out");
    assert.equal(args.learningRate, 5e-5);
    assert.equal(args.perDeviceTrainBatchSize, 8);
    assert.equal(args.lrSchedulerType, "linear");
    assert.equal(args.batchSampler, "batch_sampler");
    assert.deepEqual({ ...args, outputDir: "output" }, { ...DEFAULT_TRAINING_ARGUMENTS });
  });

  it("rejects an unknown key with a suggestion", () => {
    assert.throws(
      () => resolveTrainingArguments({ per_device_train_batch_size: 16 }),
      /unknown argument 'per_device_train_batch_size'; did you mean 'perDeviceTrainBatchSize'\?/,
    );
    assert.throws(() => resolveTrainingArguments({ learningRat: 1e-4 }), /did you mean 'learningRate'\?/);
  });

  it("rejects ill-typed values naming the key and what was expected", () => {
    assert.throws(
      () => resolveTrainingArguments({ perDeviceTrainBatchSize: 0 }, "config.yaml: args"),
      /config\.yaml: args: 'perDeviceTrainBatchSize' must be a positive integer, got 0/,
    );
    assert.throws(
      () => resolveTrainingArguments({ lrSchedulerType: "cosin" }),
      /must be one of "constant", .*got "cosin"/,
    );
    assert.throws(() => resolveTrainingArguments({ learningRateMapping: { "(": 1e-3 } }), /'\(' is not one/);
  });

  it("checks loadBestModelAtEnd against the strategies and derives greaterIsBetter", () => {
    assert.throws(() => resolveTrainingArguments({ loadBestModelAtEnd: true }), /needs an evalStrategy/);
    const args = resolveTrainingArguments({
      loadBestModelAtEnd: true,
      evalStrategy: "steps",
      saveStrategy: "steps",
      metricForBestModel: "eval_loss",
      loggingSteps: 10,
    });
    assert.equal(args.greaterIsBetter, false);
    assert.equal(args.evalSteps, 10);
  });

  it("reads groupByLength as a boolean, off by default, and refuses it with group_by_label", () => {
    assert.equal(resolveTrainingArguments({}).groupByLength, false);
    const args = resolveTrainingArguments({ groupByLength: true, batchSampler: "no_duplicates" });
    assert.equal(args.groupByLength, true);
    // config files use the camelCase keys, as for every argument; the reference's name gets a hint
    assert.throws(
      () => resolveTrainingArguments({ group_by_length: true }),
      /unknown argument 'group_by_length'; did you mean 'groupByLength'\?/,
    );
    assert.throws(
      () => resolveTrainingArguments({ groupByLength: "yes" }),
      /'groupByLength' must be a boolean, got "yes"/,
    );
    assert.throws(
      () => resolveTrainingArguments({ groupByLength: true, batchSampler: "group_by_label" }, "config.yaml: args"),
      /config\.yaml: args: groupByLength cannot be combined with batchSampler "group_by_label"/,
    );
  });

  it("defaults optim as transformers does for the libtorch's version, and checks the fused kernel exists", () => {
    const version = torch.buildInfo().version;
    const [major, minor] = version.split(".").map(Number) as [number, number];
    const newer = major > 2 || (major === 2 && minor >= 8);
    assert.equal(defaultOptim(), newer ? "adamw_torch_fused" : "adamw_torch");
    assert.equal(resolveTrainingArguments({}).optim, defaultOptim());
    assert.equal(resolveTrainingArguments({ optim: "adamw_torch" }).optim, "adamw_torch");
    assert.throws(() => resolveTrainingArguments({ optim: "adamw" }), /'optim' must be one of/);
    if (torch.optim.AdamW.fusedAvailable()) {
      assert.equal(resolveTrainingArguments({ optim: "adamw_torch_fused" }).optim, "adamw_torch_fused");
    } else {
      assert.throws(
        () => resolveTrainingArguments({ optim: "adamw_torch_fused" }, "config.yaml: args"),
        new RegExp(
          `config\\.yaml: args: optim "adamw_torch_fused" needs .*this libtorch is ${version.replace(/\./g, "\\.")}`,
        ),
      );
    }
  });
});
