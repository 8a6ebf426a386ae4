import { compileAvro, avroEncoder } from '../lambdas/core/formats/avro';
const schema = JSON.stringify({ type: 'record', name: 'Order', namespace: 'shop', fields: [
  { name: 'orderId', type: 'string' },
  { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } },
  { name: 'price', type: { type: 'fixed', name: 'P', size: 8, logicalType: 'decimal', precision: 18, scale: 4 } },
  { name: 'ts', type: { type: 'long', logicalType: 'timestamp-micros' } },
  { name: 'day', type: { type: 'int', logicalType: 'date' } },
  { name: 'big', type: 'long' },
  { name: 'note', type: ['null', 'string'], default: null },
  { name: 'choice', type: ['null', 'string', 'int'] },
  { name: 'tags', type: { type: 'array', items: 'string' } },
  { name: 'attrs', type: { type: 'map', values: ['null','long'] } },
  { name: 'status', type: { type: 'enum', name: 'S', symbols: ['NEW', 'DONE'] } },
  { name: 'id', type: { type: 'string', logicalType: 'uuid' } },
  { name: 'raw', type: 'bytes' },
  { name: 'addr', type: { type: 'record', name: 'Addr', fields: [{ name: 'cityName', type: 'string' }] } },
]});
const enc = avroEncoder(schema);
const buf = enc({ orderId: 'o1', amount: '-123.45', price: '3.1415', ts: 1700000000123456 / 1000 , day: '2026-12-04', big: 9007199254740993n, note: 'hi', choice: 5, tags: ['a'], attrs: { x: 1, y: null }, status: 'DONE', id: '123e4567-e89b-12d3-a456-426614174000', raw: Buffer.from([1,2]), addr: { cityName: 'Oslo' } });
const c = compileAvro(schema, 'test');
console.log(c.columns.map(x => `${x.name}:${JSON.stringify(x.type)}:${x.required}`).join('\n'));
console.log(c.decode(buf));
