import { compileProtobuf, protobufEncoder } from '../lambdas/core/formats/protobuf';
const proto = `syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
message Order {
  string order_id = 1;
  int64 big = 2;
  uint64 ubig = 3;
  google.protobuf.Timestamp created_at = 4;
  google.protobuf.Int64Value maybe = 5;
  Status status = 6;
  repeated string tags = 7;
  map<string, int32> counts = 8;
  oneof payment { string card = 9; int32 cash = 10; }
  Address addr = 11;
  optional string note = 12;
  bytes raw = 13;
  enum Status { NEW = 0; DONE = 1; }
  message Address { string city_name = 1; }
}
message Other { int32 x = 1; }`;
const enc = protobufEncoder(proto, 'shop.Order');
console.log(enc.indexes, enc.glueIndex);
const b = enc.encode({ order_id: 'o1', big: '-9223372036854775808', ubig: '18446744073709551615', created_at: { seconds: 1700000000, nanos: 123456789 }, maybe: { value: '5' }, status: 'DONE', tags: ['a'], counts: { x: 1 }, cash: 7, addr: { city_name: 'Oslo' }, raw: Buffer.from([9]) });
const c = compileProtobuf(proto, 'test');
const m = c.byIndexes([0]);
console.log(m.columns.map(x => `${x.name}:${JSON.stringify(x.type)}:${x.required}`).join('\n'));
console.log(m.decode(b));
console.log(c.byGlueIndex(1).name, c.byGlueIndex(0).name, c.byGlueIndex(2).name, c.byIndexes([0,0]).name);
console.log(m.decode(new Uint8Array(0)));
