// The examples of docs/losses.md, one per loss. The text between `// #region Name` and `// #endregion`
// is copied into the docs by `npm run docs:losses`; test/loss-guide.test.ts trains one step on each
// with SentenceTransformerTrainer, so every example in the docs compiles and runs. In the docs, `model`
// is the SentenceTransformer being trained and `teacher` a second model (a guide or a teacher).
import {
  AdaptiveLayerLoss,
  AnglELoss,
  BatchAllTripletLoss,
  BatchHardSoftMarginTripletLoss,
  BatchHardTripletLoss,
  BatchSemiHardTripletLoss,
  CachedGISTEmbedLoss,
  CachedMultipleNegativesRankingLoss,
  CachedMultipleNegativesSymmetricRankingLoss,
  ContrastiveLoss,
  ContrastiveTensionLoss,
  ContrastiveTensionLossInBatchNegatives,
  CoSENTLoss,
  CosineSimilarityLoss,
  Dataset,
  DenoisingAutoEncoderLoss,
  DistillKLDivLoss,
  GISTEmbedLoss,
  MarginMSELoss,
  Matryoshka2dLoss,
  MatryoshkaLoss,
  MegaBatchMarginLoss,
  MSELoss,
  MultipleNegativesRankingLoss,
  MultipleNegativesSymmetricRankingLoss,
  OnlineContrastiveLoss,
  SoftmaxLoss,
  TripletLoss,
  denoisingAutoEncoderDataset,
  type Loss,
  type SentenceTransformer,
} from "../src/index.js";
import { contrastiveTensionDataset } from "../src/util/data-formats.js";

/** What an example builds: the loss and a small training dataset in the format it takes. */
export interface LossExample {
  loss: Loss;
  trainDataset: Dataset;
}

/** The models an example may use. */
export interface ExampleModels {
  model: SentenceTransformer;
  teacher: SentenceTransformer;
}

/** One function per loss of the guide, keyed by class name. */
export const LOSS_EXAMPLES: Readonly<Record<string, (models: ExampleModels) => LossExample>> = {
  MultipleNegativesRankingLoss: ({ model }) => {
    // #region MultipleNegativesRankingLoss
    // (anchor, positive) pairs: every other positive of the batch is a negative for each anchor
    const trainDataset = new Dataset({
      anchor: ["How do I bake bread?", "What is the capital of France?"],
      positive: ["Mix flour, water and yeast, then bake.", "Paris is the capital of France."],
    });
    const loss = new MultipleNegativesRankingLoss(model); // scale 20, cosine similarity
    // #endregion
    return { loss, trainDataset };
  },

  CachedMultipleNegativesRankingLoss: ({ model }) => {
    // #region CachedMultipleNegativesRankingLoss
    // same data as MultipleNegativesRankingLoss; use a large perDeviceTrainBatchSize (e.g. 1024)
    const trainDataset = new Dataset({
      anchor: ["How do I bake bread?", "What is the capital of France?"],
      positive: ["Mix flour, water and yeast, then bake.", "Paris is the capital of France."],
      negative: ["The train leaves at noon.", "Cats sleep most of the day."],
    });
    const loss = new CachedMultipleNegativesRankingLoss(model, { miniBatchSize: 32 });
    // #endregion
    return { loss, trainDataset };
  },

  MultipleNegativesSymmetricRankingLoss: ({ model }) => {
    // #region MultipleNegativesSymmetricRankingLoss
    const trainDataset = new Dataset({
      question: ["How do I bake bread?", "What is the capital of France?"],
      answer: ["Mix flour, water and yeast, then bake.", "Paris is the capital of France."],
    });
    const loss = new MultipleNegativesSymmetricRankingLoss(model);
    // #endregion
    return { loss, trainDataset };
  },

  CachedMultipleNegativesSymmetricRankingLoss: ({ model }) => {
    // #region CachedMultipleNegativesSymmetricRankingLoss
    const trainDataset = new Dataset({
      question: ["How do I bake bread?", "What is the capital of France?"],
      answer: ["Mix flour, water and yeast, then bake.", "Paris is the capital of France."],
    });
    const loss = new CachedMultipleNegativesSymmetricRankingLoss(model, { miniBatchSize: 32 });
    // #endregion
    return { loss, trainDataset };
  },

  GISTEmbedLoss: ({ model, teacher }) => {
    // #region GISTEmbedLoss
    // the guide (often a larger embedding model) masks in-batch candidates it scores above the positive
    const trainDataset = new Dataset({
      anchor: ["How do I bake bread?", "What is the capital of France?"],
      positive: ["Mix flour, water and yeast, then bake.", "Paris is the capital of France."],
      negative: ["The train leaves at noon.", "Cats sleep most of the day."],
    });
    const loss = new GISTEmbedLoss(model, { guide: teacher, temperature: 0.01 });
    // #endregion
    return { loss, trainDataset };
  },

  CachedGISTEmbedLoss: ({ model, teacher }) => {
    // #region CachedGISTEmbedLoss
    const trainDataset = new Dataset({
      anchor: ["How do I bake bread?", "What is the capital of France?"],
      positive: ["Mix flour, water and yeast, then bake.", "Paris is the capital of France."],
    });
    const loss = new CachedGISTEmbedLoss(model, { guide: teacher, miniBatchSize: 32 });
    // #endregion
    return { loss, trainDataset };
  },

  MegaBatchMarginLoss: ({ model }) => {
    // #region MegaBatchMarginLoss
    // meant for large batches (e.g. 500): the hardest negative is mined among the batch's positives
    const trainDataset = new Dataset({
      anchor: ["How do I bake bread?", "What is the capital of France?"],
      positive: ["Mix flour, water and yeast, then bake.", "Paris is the capital of France."],
    });
    const loss = new MegaBatchMarginLoss(model, { positiveMargin: 0.8, negativeMargin: 0.3 });
    // #endregion
    return { loss, trainDataset };
  },

  TripletLoss: ({ model }) => {
    // #region TripletLoss
    const trainDataset = new Dataset({
      anchor: ["How do I bake bread?", "What is the capital of France?"],
      positive: ["Mix flour, water and yeast, then bake.", "Paris is the capital of France."],
      negative: ["The train leaves at noon.", "Cats sleep most of the day."],
    });
    const loss = new TripletLoss(model, { tripletMargin: 5 }); // Euclidean distance by default
    // #endregion
    return { loss, trainDataset };
  },

  CoSENTLoss: ({ model }) => {
    // #region CoSENTLoss
    // any score scale works: only the order of the scores matters
    const trainDataset = new Dataset({
      sentence1: ["A man is playing a guitar.", "A woman is slicing an onion."],
      sentence2: ["A man plays the guitar.", "A dog runs in the park."],
      score: [4.8, 0.2],
    });
    const loss = new CoSENTLoss(model);
    // #endregion
    return { loss, trainDataset };
  },

  AnglELoss: ({ model }) => {
    // #region AnglELoss
    const trainDataset = new Dataset({
      sentence1: ["A man is playing a guitar.", "A woman is slicing an onion."],
      sentence2: ["A man plays the guitar.", "A dog runs in the park."],
      score: [0.96, 0.04],
    });
    const loss = new AnglELoss(model); // needs an even embedding dimension
    // #endregion
    return { loss, trainDataset };
  },

  CosineSimilarityLoss: ({ model }) => {
    // #region CosineSimilarityLoss
    // the score is the cosine similarity to reach: scale scores to [0, 1] (STS-B: score / 5)
    const trainDataset = new Dataset({
      sentence1: ["A man is playing a guitar.", "A woman is slicing an onion."],
      sentence2: ["A man plays the guitar.", "A dog runs in the park."],
      score: [0.96, 0.04],
    });
    const loss = new CosineSimilarityLoss(model);
    // #endregion
    return { loss, trainDataset };
  },

  SoftmaxLoss: ({ model }) => {
    // #region SoftmaxLoss
    // NLI: 0 = entailment, 1 = neutral, 2 = contradiction
    const trainDataset = new Dataset({
      premise: ["A man is eating pizza.", "A man is eating pizza.", "A man is eating pizza."],
      hypothesis: ["Someone is eating.", "A man eats with friends.", "Nobody is eating."],
      label: [0, 1, 2],
    });
    const loss = new SoftmaxLoss(model, { numLabels: 3 });
    // #endregion
    return { loss, trainDataset };
  },

  OnlineContrastiveLoss: ({ model }) => {
    // #region OnlineContrastiveLoss
    // duplicate questions: 1 = same meaning, 0 = not
    const trainDataset = new Dataset({
      question1: ["How do I learn Python?", "How do I learn Python?", "What is a cat?", "What is a cat?"],
      question2: [
        "What is the best way to learn Python?",
        "How tall is Everest?",
        "Tell me about cats.",
        "Why is the sky blue?",
      ],
      label: [1, 0, 1, 0],
    });
    const loss = new OnlineContrastiveLoss(model, { margin: 0.5 }); // cosine distance by default
    // #endregion
    return { loss, trainDataset };
  },

  ContrastiveLoss: ({ model }) => {
    // #region ContrastiveLoss
    const trainDataset = new Dataset({
      question1: ["How do I learn Python?", "What is a cat?"],
      question2: ["What is the best way to learn Python?", "Why is the sky blue?"],
      label: [1, 0],
    });
    const loss = new ContrastiveLoss(model, { margin: 0.5 });
    // #endregion
    return { loss, trainDataset };
  },

  BatchAllTripletLoss: ({ model }) => {
    // #region BatchAllTripletLoss
    // single sentences with a class: each batch needs several sentences of a class (batchSampler "group_by_label")
    const trainDataset = new Dataset({
      text: ["Stocks fell sharply.", "The market rallied.", "The team won the final.", "A late goal decided it."],
      label: [0, 0, 1, 1],
    });
    const loss = new BatchAllTripletLoss(model);
    // #endregion
    return { loss, trainDataset };
  },

  BatchHardTripletLoss: ({ model }) => {
    // #region BatchHardTripletLoss
    const trainDataset = new Dataset({
      text: ["Stocks fell sharply.", "The market rallied.", "The team won the final.", "A late goal decided it."],
      label: [0, 0, 1, 1],
    });
    const loss = new BatchHardTripletLoss(model, { margin: 5 });
    // #endregion
    return { loss, trainDataset };
  },

  BatchSemiHardTripletLoss: ({ model }) => {
    // #region BatchSemiHardTripletLoss
    const trainDataset = new Dataset({
      text: ["Stocks fell sharply.", "The market rallied.", "The team won the final.", "A late goal decided it."],
      label: [0, 0, 1, 1],
    });
    const loss = new BatchSemiHardTripletLoss(model);
    // #endregion
    return { loss, trainDataset };
  },

  BatchHardSoftMarginTripletLoss: ({ model }) => {
    // #region BatchHardSoftMarginTripletLoss
    const trainDataset = new Dataset({
      text: ["Stocks fell sharply.", "The market rallied.", "The team won the final.", "A late goal decided it."],
      label: [0, 0, 1, 1],
    });
    const loss = new BatchHardSoftMarginTripletLoss(model);
    // #endregion
    return { loss, trainDataset };
  },

  ContrastiveTensionLossInBatchNegatives: ({ model }) => {
    // #region ContrastiveTensionLossInBatchNegatives
    // unsupervised: each sentence twice; a copy of the model embeds the first column
    const texts = ["The sun rises in the east.", "Water boils at 100 degrees.", "Bees make honey."];
    const trainDataset = new Dataset({ anchor: texts, positive: texts });
    const loss = new ContrastiveTensionLossInBatchNegatives(model);
    // #endregion
    return { loss, trainDataset };
  },

  ContrastiveTensionLoss: ({ model }) => {
    // #region ContrastiveTensionLoss
    // unsupervised: every 8th pair is a sentence with itself (label 1), the others random pairs (label 0)
    const texts = ["The sun rises.", "Water boils.", "Bees make honey.", "Snow is cold.", "Fish swim.", "Birds sing."];
    const trainDataset = contrastiveTensionDataset(texts, { posNegRatio: 2 }); // sentence1, sentence2, label
    const loss = new ContrastiveTensionLoss(model);
    // #endregion
    return { loss, trainDataset };
  },

  DenoisingAutoEncoderLoss: ({ model }) => {
    // #region DenoisingAutoEncoderLoss
    // unsupervised (TSDAE): the decoder rebuilds each sentence from the embedding of a damaged copy
    const texts = ["The sun rises in the east every morning.", "Water boils at one hundred degrees."];
    const trainDataset = denoisingAutoEncoderDataset(texts); // damaged, original
    const loss = new DenoisingAutoEncoderLoss(model); // decoder tied to the encoder: create it before the optimizer
    // #endregion
    return { loss, trainDataset };
  },

  MSELoss: ({ model, teacher }) => {
    // #region MSELoss
    // multilingual distillation: the student maps both languages onto the teacher's English embedding
    const english = ["Hello, world.", "How are you?"];
    const german = ["Hallo, Welt.", "Wie geht es dir?"];
    const label = teacher.encode(english).map((row) => Array.from(row));
    const trainDataset = new Dataset({ english, german, label });
    const loss = new MSELoss(model);
    // #endregion
    return { loss, trainDataset };
  },

  MarginMSELoss: ({ model }) => {
    // #region MarginMSELoss
    // label: teacher score(query, positive) - teacher score(query, negative), e.g. from a cross-encoder
    const trainDataset = new Dataset({
      query: ["How do I bake bread?", "What is the capital of France?"],
      positive: ["Mix flour, water and yeast, then bake.", "Paris is the capital of France."],
      negative: ["The train leaves at noon.", "Cats sleep most of the day."],
      label: [7.5, 9.1],
    });
    const loss = new MarginMSELoss(model);
    // #endregion
    return { loss, trainDataset };
  },

  DistillKLDivLoss: ({ model }) => {
    // #region DistillKLDivLoss
    // label: the teacher's scores of (query, positive) and (query, negative)
    const trainDataset = new Dataset({
      query: ["How do I bake bread?", "What is the capital of France?"],
      positive: ["Mix flour, water and yeast, then bake.", "Paris is the capital of France."],
      negative: ["The train leaves at noon.", "Cats sleep most of the day."],
      label: [
        [8.2, 0.7],
        [9.5, 0.4],
      ],
    });
    const loss = new DistillKLDivLoss(model, { temperature: 1 });
    // #endregion
    return { loss, trainDataset };
  },

  MatryoshkaLoss: ({ model }) => {
    // #region MatryoshkaLoss
    // the data of the wrapped loss; dims from the full size down (e.g. 768, 512, 256, 128, 64)
    const dim = model.getSentenceEmbeddingDimension()!;
    const trainDataset = new Dataset({
      anchor: ["How do I bake bread?", "What is the capital of France?"],
      positive: ["Mix flour, water and yeast, then bake.", "Paris is the capital of France."],
    });
    const inner = new MultipleNegativesRankingLoss(model);
    const loss = new MatryoshkaLoss(model, inner, { matryoshkaDims: [dim, dim / 2, dim / 4] });
    // #endregion
    return { loss, trainDataset };
  },

  AdaptiveLayerLoss: ({ model }) => {
    // #region AdaptiveLayerLoss
    const trainDataset = new Dataset({
      anchor: ["How do I bake bread?", "What is the capital of France?"],
      positive: ["Mix flour, water and yeast, then bake.", "Paris is the capital of France."],
    });
    const loss = new AdaptiveLayerLoss(model, new MultipleNegativesRankingLoss(model), { nLayersPerStep: 1 });
    // #endregion
    return { loss, trainDataset };
  },

  Matryoshka2dLoss: ({ model }) => {
    // #region Matryoshka2dLoss
    const dim = model.getSentenceEmbeddingDimension()!;
    const trainDataset = new Dataset({
      anchor: ["How do I bake bread?", "What is the capital of France?"],
      positive: ["Mix flour, water and yeast, then bake.", "Paris is the capital of France."],
    });
    const inner = new MultipleNegativesRankingLoss(model);
    const loss = new Matryoshka2dLoss(model, inner, { matryoshkaDims: [dim, dim / 2, dim / 4] });
    // #endregion
    return { loss, trainDataset };
  },
};
