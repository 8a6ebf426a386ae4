import { computeCostTable, formatCostTable, readSavedFigures } from './lib/bench/cost';
const t0 = Date.now();
const t = computeCostTable({ measured: readSavedFigures() });
console.log(formatCostTable(t));
console.error('ms', Date.now() - t0);
for (const l of t.levels) console.error(l.mbPerSecond, JSON.stringify({ inv: l.alternatives && Math.round(l.partitionBatchesPerMonth), files: Math.round(l.filesPerMonth), pollers: l.pollers }));
