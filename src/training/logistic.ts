/**
 * L2-regularised logistic regression fitted by Newton's method on standardised columns: the baseline
 * the boosted trees are compared with in the model card (scikit-learn's LogisticRegression, C=1, is the
 * published reference on this data).
 */
import type { Matrix } from './gbt.js';

export interface LogisticModel {
  /** Weights on the raw (unstandardised) columns. */
  weights: Float64Array;
  bias: number;
}

function solve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  // Gaussian elimination with partial pivoting; n is the column count (tens), so O(n³) is nothing.
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[pivot * n + c]!)) pivot = r;
    if (pivot !== c) {
      for (let k = 0; k < n; k++) [m[c * n + k], m[pivot * n + k]] = [m[pivot * n + k]!, m[c * n + k]!];
      [x[c], x[pivot]] = [x[pivot]!, x[c]!];
    }
    const d = m[c * n + c]!;
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c]! / d;
      if (f === 0) continue;
      for (let k = c; k < n; k++) m[r * n + k]! -= f * m[c * n + k]!;
      x[r]! -= f * x[c]!;
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    let s = x[c]!;
    for (let k = c + 1; k < n; k++) s -= m[c * n + k]! * x[k]!;
    x[c] = s / m[c * n + c]!;
  }
  return x;
}

/** Fits p = sigmoid(x·w + b), minimising Σ log loss + λ/2 ‖w‖² (on standardised columns). */
export function trainLogistic(m: Matrix, y: Uint8Array, lambda = 1, iterations = 25): LogisticModel {
  const { rows, width } = m;
  const mean = new Float64Array(width);
  const sd = new Float64Array(width);
  for (let i = 0; i < rows; i++) for (let f = 0; f < width; f++) mean[f]! += m.data[i * width + f]!;
  mean.forEach((v, f) => (mean[f] = v / rows));
  for (let i = 0; i < rows; i++) for (let f = 0; f < width; f++) sd[f]! += (m.data[i * width + f]! - mean[f]!) ** 2;
  sd.forEach((v, f) => (sd[f] = Math.sqrt(v / rows) || 1));

  const p1 = width + 1; // last parameter is the intercept (not penalised)
  const beta = new Float64Array(p1);
  const z = new Float64Array(p1);
  z[width] = 1;
  for (let it = 0; it < iterations; it++) {
    const grad = new Float64Array(p1);
    const hess = new Float64Array(p1 * p1);
    for (let i = 0; i < rows; i++) {
      let eta = beta[width]!;
      for (let f = 0; f < width; f++) {
        z[f] = (m.data[i * width + f]! - mean[f]!) / sd[f]!;
        eta += beta[f]! * z[f]!;
      }
      const p = 1 / (1 + Math.exp(-eta));
      const w = Math.max(p * (1 - p), 1e-12);
      const r = p - y[i]!;
      for (let a = 0; a < p1; a++) {
        grad[a]! += r * z[a]!;
        const wa = w * z[a]!;
        for (let b = a; b < p1; b++) hess[a * p1 + b]! += wa * z[b]!;
      }
    }
    for (let a = 0; a < p1; a++) for (let b = 0; b < a; b++) hess[a * p1 + b] = hess[b * p1 + a]!;
    for (let f = 0; f < width; f++) {
      grad[f]! += lambda * beta[f]!;
      hess[f * p1 + f]! += lambda;
    }
    const step = solve(hess, grad, p1);
    let change = 0;
    for (let a = 0; a < p1; a++) {
      beta[a]! -= step[a]!;
      change = Math.max(change, Math.abs(step[a]!));
    }
    if (change < 1e-8) break;
  }
  const weights = new Float64Array(width);
  let bias = beta[width]!;
  for (let f = 0; f < width; f++) {
    weights[f] = beta[f]! / sd[f]!;
    bias -= (beta[f]! * mean[f]!) / sd[f]!;
  }
  return { weights, bias };
}

export function predictLogistic(model: LogisticModel, m: Matrix): Float64Array {
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let eta = model.bias;
    for (let f = 0; f < m.width; f++) eta += model.weights[f]! * m.data[i * m.width + f]!;
    out[i] = 1 / (1 + Math.exp(-eta));
  }
  return out;
}
