/**
 * ONNX's protobuf messages through protobufjs (light build: no .proto parser, no files) and
 * the official schema (./schema.ts, generated from ./onnx.proto). The interfaces below name
 * the fields webgrad reads and writes; int64 fields decode as protobufjs Longs (see int()).
 */
import type protobuf from 'protobufjs/light.js';

/** TensorProto.DataType values webgrad meets. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10, DOUBLE: 11 } as const;
export const DATA_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries({ ...DataType, UNDEFINED: 0, UINT16: 4, INT16: 5, STRING: 8, UINT32: 12, UINT64: 13, COMPLEX64: 14, COMPLEX128: 15, BFLOAT16: 16 }).map(([k, v]) => [v, k]),
);
/** AttributeProto.AttributeType values. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

type Int64 = number | { toNumber(): number };

export interface TensorProto {
  name?: string;
  dims?: Int64[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int32_data?: number[];
  int64_data?: Int64[];
  double_data?: number[];
  data_location?: number;
  doc_string?: string;
}

export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
}

export interface NodeProto {
  name?: string;
  op_type: string;
  domain?: string;
  input: string[];
  output: string[];
  attribute?: AttributeProto[];
  doc_string?: string;
}

export interface ValueInfoProto {
  name: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim: { dim_value?: Int64; dim_param?: string }[] } } };
  doc_string?: string;
}

export interface GraphProto {
  name?: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  value_info?: ValueInfoProto[];
  doc_string?: string;
}

export interface ModelProto {
  ir_version?: Int64;
  opset_import: { domain?: string; version: Int64 }[];
  producer_name?: string;
  producer_version?: string;
  model_version?: Int64;
  doc_string?: string;
  graph?: GraphProto;
  metadata_props?: { key: string; value: string }[];
}

let modelType: Promise<protobuf.Type> | null = null;
/**
 * protobufjs and the schema are imported when first needed: a bundler that splits code then
 * fetches them (about 115 KiB minified) only for a page that exports or imports ONNX.
 */
function model(): Promise<protobuf.Type> {
  modelType ??= Promise.all([import('protobufjs/light.js'), import('./schema')]).then(([pb, { ONNX_SCHEMA }]) =>
    (pb.default ?? pb).Root.fromJSON(ONNX_SCHEMA).lookupType('onnx.ModelProto'),
  );
  return modelType;
}

export async function encodeModel(m: ModelProto): Promise<Uint8Array> {
  const T = await model();
  // A copy: in Node, protobufjs hands out a view of a pooled Buffer.
  return new Uint8Array(T.encode(T.fromObject(m as unknown as Record<string, unknown>)).finish());
}

/** Throws protobufjs's own message (e.g. "index out of range: 812 + 10 > 815") for bytes that are not a ModelProto. */
export async function decodeModel(bytes: Uint8Array): Promise<ModelProto> {
  const T = await model();
  return T.decode(bytes) as unknown as ModelProto;
}

/** An int64 field as a number (protobufjs decodes them as Longs). */
export const int = (v: Int64 | undefined | null): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

/** The opset of the default ('' or 'ai.onnx') domain, or null. */
export function defaultOpset(m: ModelProto): number | null {
  const o = m.opset_import.find((x) => !x.domain || x.domain === 'ai.onnx');
  return o ? int(o.version) : null;
}

/** ONNX's IR version for an opset (onnx/helper.py's VERSION_TABLE). */
export function irVersionFor(opset: number): number {
  if (opset <= 12) return 7;
  if (opset <= 18) return opset <= 13 ? 7 : 8;
  if (opset <= 20) return 9;
  return 10;
}
