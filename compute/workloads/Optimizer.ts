export type OptimizerConfig =
  | { type: 'sgd'; learningRate: number; momentum: number }
  | { type: 'adam'; learningRate: number; beta1: number; beta2: number; epsilon: number }

/** Optimizer moments; serialised into every checkpoint. */
export interface OptimizerState {
  m: Float64Array
  v: Float64Array
  /** β₁ᵗ and β₂ᵗ kept as running products: repeated multiplication is exact-by-definition, Math.pow is not. */
  beta1Pow: number
  beta2Pow: number
}

export function initOptimizerState(n: number, cfg: OptimizerConfig): OptimizerState {
  return { m: new Float64Array(n), v: new Float64Array(cfg.type === 'adam' ? n : 0), beta1Pow: 1, beta2Pow: 1 }
}

/** One update with an averaged gradient, parameters in index order. */
export function applyUpdate(cfg: OptimizerConfig, params: Float64Array, grad: Float64Array, st: OptimizerState): void {
  if (cfg.type === 'sgd') {
    const { learningRate: lr, momentum: mu } = cfg
    for (let i = 0; i < params.length; i++) {
      const m = mu * st.m[i]! + grad[i]!
      st.m[i] = m
      params[i] = params[i]! - lr * m
    }
    return
  }
  const { learningRate: lr, beta1, beta2, epsilon } = cfg
  st.beta1Pow *= beta1
  st.beta2Pow *= beta2
  const c1 = 1 - st.beta1Pow
  const c2 = 1 - st.beta2Pow
  for (let i = 0; i < params.length; i++) {
    const g = grad[i]!
    const m = beta1 * st.m[i]! + (1 - beta1) * g
    const v = beta2 * st.v[i]! + (1 - beta2) * g * g
    st.m[i] = m
    st.v[i] = v
    params[i] = params[i]! - (lr * (m / c1)) / (Math.sqrt(v / c2) + epsilon)
  }
}
