import { computeCostTable, readSavedFigures, synthesizeStack } from './lib/bench/cost';
const measured = readSavedFigures();
const template = synthesizeStack();
const rows: Array<[string, any, boolean]> = [
  ['A defaults (Iceberg, optimizers, on-demand, dedicated Lambda/STS endpoints)', {}, false],
  ['B A, the VPC already has a NAT gateway', { onDemandNetwork: 'nat-gateway' }, false],
  ['C A, the VPC already has the endpoints', { onDemandNetwork: 'shared-endpoints' }, false],
  ['D provisioned, 1 poller per partition, one poller group', {}, true],
  ['E D + no late records', { lateShare: 0 }, true],
  ['F E + 2 commit-protocol PUTs per batch (the proposal)', { lateShare: 0, protocolPutsPerPartitionBatch: 2 }, true],
  ['G C + no late records + 2 PUTs', { lateShare: 0, protocolPutsPerPartitionBatch: 2, onDemandNetwork: 'shared-endpoints' }, false],
  ['H A as a Hive table (format: hive)', { tableFormat: 'hive' }, false],
];
const fmt = (x: number) => (x >= 1 ? x.toFixed(2) : x >= 0.01 ? x.toFixed(3) : x.toFixed(4));
for (const [name, a, prov] of rows) {
  const t = computeCostTable({ measured, template, assumptions: a });
  const cells = t.levels.map((l) => {
    const v = prov ? l.provisionedGrouped : l;
    const r = v.usdPerGb / l.alternatives.firehose.variableUsdPerGb!;
    return `$${fmt(v.usdPerGb)} (${(r * 100).toFixed(0)} %) ${Math.round(v.freshnessP99Seconds)} s`;
  });
  console.log(`| ${name} | ${cells.join(' | ')} |`);
}
const t = computeCostTable({ measured, template });
for (const l of t.levels) console.log(l.mbPerSecond, JSON.stringify(Object.fromEntries(Object.entries(l.items).map(([k, v]) => [k, Math.round(v * 100) / 100]))), Math.round(l.usdPerMonth*100)/100, 'p50', l.freshnessP50Seconds.toFixed(0), 'p99', l.freshnessP99Seconds.toFixed(0), 'prov', l.provisionedGrouped.usdPerMonth.toFixed(2), l.provisionedGrouped.usdPerGb.toFixed(3), 'FH', l.alternatives.firehose.usdPerMonth!.toFixed(2), l.alternatives.firehose.usdPerGb!.toFixed(3), 'MC', l.alternatives.mskConnect.usdPerMonth!.toFixed(2), l.alternatives.mskConnect.usdPerGb!.toFixed(3), 'files/day', (l.filesPerMonth/730*24).toFixed(0), 'puts/GB', l.s3PutsPerGb.toFixed(0), 'provS3', l.provisionedGrouped.items.s3Requests.toFixed(2));
for (const lv of [0.2, 0.3, 0.5]) { const x = computeCostTable({ measured, template, levels: [lv] }).levels[0]; console.log(lv, x.usdPerMonth.toFixed(1), x.provisionedGrouped.usdPerMonth.toFixed(1)); }
