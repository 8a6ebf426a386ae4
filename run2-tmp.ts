import { computeCostTable, readSavedFigures } from './lib/bench/cost';
const m = readSavedFigures();
const show = (name: string, t: ReturnType<typeof computeCostTable>) => {
  console.log(name);
  for (const l of t.levels) console.log(' ', l.mbPerSecond, 'default', l.usdPerGb.toFixed(4), Math.round(l.usdPerMonth), 'p99', l.freshnessP99Seconds.toFixed(0), '| prov', l.provisionedGrouped.usdPerGb.toFixed(4), JSON.stringify(Object.fromEntries(Object.entries(l.provisionedGrouped.items).map(([k, v]) => [k, Math.round(v * 100) / 100]))), '| ratio', (l.usdPerGb / l.alternatives.firehose.variableUsdPerGb!).toFixed(3), (l.provisionedGrouped.usdPerGb / l.alternatives.firehose.variableUsdPerGb!).toFixed(3));
};
const template = require('./lib/bench/cost').synthesizeStack();
show('hive', computeCostTable({ measured: m, template }));
show('iceberg', computeCostTable({ measured: m, template, assumptions: { tableFormat: 'iceberg' } }));
show('no late', computeCostTable({ measured: m, template, assumptions: { lateShare: 0 } }));
show('iceberg no late, shared endpoints', computeCostTable({ measured: m, template, assumptions: { tableFormat: 'iceberg', lateShare: 0, onDemandNetwork: 'shared-endpoints' } }));
