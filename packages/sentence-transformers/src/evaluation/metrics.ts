// The statistics evaluators report, computed as the reference's libraries do (scipy's pearsonr and
// spearmanr, scikit-learn's average_precision_score, sentence-transformers' threshold searches and
// retrieval metrics).

/** Pearson correlation; NaN when either side is constant (scipy warns and returns NaN). */
export function pearson(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new RangeError(`pearson: ${x.length} values vs ${y.length}`);
  const n = x.length;
  if (n < 2) return Number.NaN;
  const mean = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) / n;
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return Number.NaN;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** Ranks 1..n with ties given their average rank (scipy's rankdata "average"). */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let start = 0; start < order.length;) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]![0] === order[start]![0]) end++;
    const rank = (start + end) / 2 + 1;
    for (let k = start; k <= end; k++) ranks[order[k]![1]] = rank;
    start = end + 1;
  }
  return ranks;
}

/** Spearman rank correlation: Pearson of the average ranks. */
export function spearman(x: readonly number[], y: readonly number[]): number {
  return pearson(averageRanks(x), averageRanks(y));
}

/**
 * Average precision of scores against 0/1 labels (scikit-learn's average_precision_score):
 * sum over distinct thresholds, descending, of (recall gain) x precision; tied scores form one step.
 */
export function averagePrecision(labels: readonly number[], scores: readonly number[]): number {
  const order = scores.map((s, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const positives = labels.reduce((sum, l) => sum + (l === 1 ? 1 : 0), 0);
  if (positives === 0) return Number.NaN;
  let truePositives = 0;
  let seen = 0;
  let previousRecall = 0;
  let ap = 0;
  for (let i = 0; i < order.length; i++) {
    truePositives += labels[order[i]!] === 1 ? 1 : 0;
    seen++;
    const lastOfTie = i + 1 === order.length || scores[order[i + 1]!] !== scores[order[i]!];
    if (!lastOfTie) continue;
    const recall = truePositives / positives;
    ap += (recall - previousRecall) * (truePositives / seen);
    previousRecall = recall;
  }
  return ap;
}

/** The threshold maximising accuracy, as BinaryClassificationEvaluator searches it. */
export function bestAccuracyAndThreshold(
  scores: readonly number[],
  labels: readonly number[],
  highScoreMoreSimilar: boolean,
): { accuracy: number; threshold: number } {
  const rows = sortedRows(scores, labels, highScoreMoreSimilar);
  let best = 0;
  let threshold = -1;
  let positivesSoFar = 0;
  let remainingNegatives = labels.filter((l) => l === 0).length;
  for (let i = 0; i < rows.length - 1; i++) {
    if (rows[i]![1] === 1) positivesSoFar++;
    else remainingNegatives--;
    const accuracy = (positivesSoFar + remainingNegatives) / labels.length;
    if (accuracy > best) {
      best = accuracy;
      threshold = (rows[i]![0] + rows[i + 1]![0]) / 2;
    }
  }
  return { accuracy: best, threshold };
}

/** The threshold maximising F1, with its precision and recall, as BinaryClassificationEvaluator searches it. */
export function bestF1AndThreshold(
  scores: readonly number[],
  labels: readonly number[],
  highScoreMoreSimilar: boolean,
): { f1: number; precision: number; recall: number; threshold: number } {
  const rows = sortedRows(scores, labels, highScoreMoreSimilar);
  const totalPositives = labels.filter((l) => l === 1).length;
  const best = { f1: 0, precision: 0, recall: 0, threshold: 0 };
  let extracted = 0;
  let correct = 0;
  for (let i = 0; i < rows.length - 1; i++) {
    extracted++;
    if (rows[i]![1] === 1) correct++;
    if (correct === 0) continue;
    const precision = correct / extracted;
    const recall = correct / totalPositives;
    const f1 = (2 * precision * recall) / (precision + recall);
    if (f1 > best.f1) Object.assign(best, { f1, precision, recall, threshold: (rows[i]![0] + rows[i + 1]![0]) / 2 });
  }
  return best;
}

/**
 * Matthews correlation coefficient of 0/1 predictions against 0/1 labels (scikit-learn's
 * matthews_corrcoef): (tp * tn - fp * fn) / sqrt((tp + fp)(tp + fn)(tn + fp)(tn + fn)), 0 when a
 * factor of the denominator is 0.
 */
export function matthewsCorrelation(labels: readonly number[], predicted: readonly number[]): number {
  if (labels.length !== predicted.length) {
    throw new RangeError(`matthewsCorrelation: ${labels.length} labels vs ${predicted.length} predictions`);
  }
  let [tp, tn, fp, fn] = [0, 0, 0, 0];
  labels.forEach((label, i) => {
    const positive = predicted[i] === 1;
    if (label === 1 && positive) tp++;
    else if (label === 1) fn++;
    else if (positive) fp++;
    else tn++;
  });
  const denominator = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn);
  return denominator === 0 ? 0 : (tp * tn - fp * fn) / Math.sqrt(denominator);
}

function sortedRows(scores: readonly number[], labels: readonly number[], descending: boolean): [number, number][] {
  if (scores.length !== labels.length) throw new RangeError(`${scores.length} scores vs ${labels.length} labels`);
  // a stable sort, like Python's sorted()
  return scores
    .map((s, i) => [s, labels[i]!] as [number, number])
    .map((row, i) => ({ row, i }))
    .sort((a, b) => (descending ? b.row[0] - a.row[0] : a.row[0] - b.row[0]) || a.i - b.i)
    .map(({ row }) => row);
}

/** Retrieval metrics of one query's ranked hits at each k, as InformationRetrievalEvaluator computes them. */
export interface RetrievalMetrics {
  accuracyAtK: Record<number, number>;
  precisionAtK: Record<number, number>;
  recallAtK: Record<number, number>;
  mrrAtK: Record<number, number>;
  ndcgAtK: Record<number, number>;
  mapAtK: Record<number, number>;
}

/**
 * Averages over queries of accuracy@k, precision@k, recall@k, MRR@k, NDCG@k (binary relevance)
 * and MAP@k. `rankedIds[q]` lists query q's retrieved ids, best first; `relevant[q]` its relevant ids.
 */
export function retrievalMetrics(
  rankedIds: readonly (readonly string[])[],
  relevant: readonly ReadonlySet<string>[],
  ks: { accuracy: number[]; precisionRecall: number[]; mrr: number[]; ndcg: number[]; map: number[] },
): RetrievalMetrics {
  const n = rankedIds.length;
  const zeros = (list: number[]) => Object.fromEntries(list.map((k) => [k, 0])) as Record<number, number>;
  const out: RetrievalMetrics = {
    accuracyAtK: zeros(ks.accuracy),
    precisionAtK: zeros(ks.precisionRecall),
    recallAtK: zeros(ks.precisionRecall),
    mrrAtK: zeros(ks.mrr),
    ndcgAtK: zeros(ks.ndcg),
    mapAtK: zeros(ks.map),
  };
  rankedIds.forEach((hits, q) => {
    const rel = relevant[q]!;
    const isHit = hits.map((id) => rel.has(id));
    for (const k of ks.accuracy) if (isHit.slice(0, k).some(Boolean)) out.accuracyAtK[k]! += 1;
    for (const k of ks.precisionRecall) {
      const correct = isHit.slice(0, k).filter(Boolean).length;
      out.precisionAtK[k]! += correct / k;
      out.recallAtK[k]! += correct / rel.size;
    }
    for (const k of ks.mrr) {
      const rank = isHit.slice(0, k).indexOf(true);
      if (rank >= 0) out.mrrAtK[k]! += 1 / (rank + 1);
    }
    for (const k of ks.ndcg) {
      const dcg = dcgAtK(isHit.map(Number), k);
      const ideal = dcgAtK(
        Array.from({ length: rel.size }, () => 1),
        k,
      );
      out.ndcgAtK[k]! += ideal === 0 ? 0 : dcg / ideal;
    }
    for (const k of ks.map) {
      let correct = 0;
      let sumPrecisions = 0;
      isHit.slice(0, k).forEach((hit, rank) => {
        if (!hit) return;
        correct++;
        sumPrecisions += correct / (rank + 1);
      });
      out.mapAtK[k]! += sumPrecisions / Math.min(k, rel.size);
    }
  });
  for (const table of Object.values(out) as Record<number, number>[]) {
    for (const k of Object.keys(table)) table[Number(k)]! /= n;
  }
  return out;
}

function dcgAtK(relevances: readonly number[], k: number): number {
  let dcg = 0;
  for (let i = 0; i < Math.min(k, relevances.length); i++) dcg += relevances[i]! / Math.log2(i + 2);
  return dcg;
}
