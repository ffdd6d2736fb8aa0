export {
  WaypostClient,
  WaypostAuthError,
  type WaypostClientOptions,
  type ExposureEvent,
  type ChangeEvent,
  type ConnectionState,
  type Logger,
  type Timers,
} from "./client.js";
export {
  compileFlagSet,
  compileFlag,
  evaluateDetail,
  evaluateFlag,
  snapshotToFlagSet,
  bucket,
  bucketFrom,
  hashPrefix,
  murmur3,
  murmur3Bytes,
  ValidationError,
  BUCKETS,
  EMPTY_SNAPSHOT,
  type FlagSet,
  type WireFlag,
  type FlagKind,
  type Snapshot,
  type CompiledFlag,
  type EvaluationDetail,
  type Reason,
  type ErrorCode,
  type ValueType,
} from "./eval.js";
export { EventSender, type EventSenderOptions } from "./events.js";
export { SSEParser, type SSEEvent, type SSEHandlers } from "./sse.js";
export { TestData } from "./testdata.js";
