/**
 * PyTorch's checkpoint format (`torch.save` since 1.6): a zip whose `<archive>/data.pkl` pickles the
 * object with every tensor's storage kept outside the pickle, in `<archive>/data/<key>`, as raw
 * little-endian bytes. Read with the safe unpickler, whose allow-list is exactly what a state dict
 * needs; written (state dicts of contiguous tensors) as torch writes it, so `torch.load` reads it.
 */
import { PyDict, unpickle, UnpicklingError } from "./pickle.js";
import type { ByteSource } from "./byte-source.js";
import { lazyTensor, typedArray, type Dtype, type NamedTensor } from "./safetensors.js";
import { readZip, writeZip, type ZipEntry } from "./zip.js";

const STORAGE_DTYPES: Record<string, Dtype> = {
  DoubleStorage: "F64",
  FloatStorage: "F32",
  HalfStorage: "F16",
  BFloat16Storage: "BF16",
  LongStorage: "I64",
  IntStorage: "I32",
};
const BYTES: Record<Dtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };
/** Storages torch writes for tensors no weight has: named in a clear refusal, never read. */
const UNREAD_STORAGES: Record<string, string> = {
  ByteStorage: "uint8",
  CharStorage: "int8",
  ShortStorage: "int16",
  BoolStorage: "bool",
  ComplexFloatStorage: "complex64",
  ComplexDoubleStorage: "complex128",
};

interface Storage {
  readonly dtype: Dtype;
  readonly entry: ZipEntry;
}

/** A tensor of a dtype detc does not read (uint8, bool, …): refused by key once the dict is known. */
class UnreadTensor {
  constructor(readonly dtype: string) {}
}

/** The containers a state dict is saved in, checked in this order: `{"model": sd}`, `{"state_dict": sd}`, `sd`. */
const WRAPPER_KEYS = ["model", "state_dict"];

const allowedGlobals = () => [
  "collections.OrderedDict",
  "torch._utils._rebuild_tensor_v2",
  "torch._utils._rebuild_parameter",
  ...[...Object.keys(STORAGE_DTYPES), ...Object.keys(UNREAD_STORAGES)].map((name) => `torch.${name}`),
];

const isIndex = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value) && value >= 0;
const isIndexList = (value: unknown): value is number[] => Array.isArray(value) && value.every(isIndex);

/** `_rebuild_tensor_v2(storage, offset, shape, stride, …)`'s arguments, checked before any is used. */
function rebuildArguments(file: string, args: unknown[]): { storage: Storage | UnreadTensor; offset: number; shape: number[]; stride: number[] } {
  const [storage, offset, shape, stride] = args;
  const valid =
    (storage instanceof UnreadTensor || (typeof storage === "object" && storage !== null && "entry" in storage)) &&
    isIndex(offset) &&
    isIndexList(shape) &&
    isIndexList(stride) &&
    shape.length === stride.length;
  if (!valid) throw new UnpicklingError(`${file}: a tensor's storage, offset, shape or strides are malformed (corrupt file, or not written by torch.save)`);
  return { storage: storage as Storage | UnreadTensor, offset, shape, stride };
}

/**
 * `torch._utils._rebuild_tensor_v2`: the strided view of a storage. A contiguous tensor (what
 * `state_dict()` saves) is read from the file when its values are asked for; any other is copied
 * out contiguous now.
 */
function rebuildTensor(file: string, storage: Storage, offset: number, shape: number[], stride: number[]): NamedTensor {
  const { dtype, entry } = storage;
  const size = BYTES[dtype];
  const count = shape.reduce((a, b) => a * b, 1);
  const last = shape.reduce((max, extent, axis) => max + (extent - 1) * stride[axis]!, offset);
  if (count > 0 && (offset < 0 || (last + 1) * size > entry.size))
    throw new UnpicklingError(`${file}: a tensor [${shape}] reaches past the end of its storage (corrupt file)`);
  const contiguous = shape.every((_, axis) => shape[axis] === 1 || stride[axis] === shape.slice(axis + 1).reduce((a, b) => a * b, 1));
  if (contiguous) return lazyTensor(dtype, shape, () => typedArray(dtype, entry.read(offset * size, count * size).buffer, 0, count));
  const bytes = entry.read();
  const out = new Uint8Array(count * size);
  const index = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < count; i++) {
    const element = index.reduce((at, value, axis) => at + value * stride[axis]!, offset);
    out.set(bytes.subarray(element * size, (element + 1) * size), i * size);
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      if (++index[axis]! < shape[axis]!) break;
      index[axis] = 0;
    }
  }
  return { dtype, shape, data: typedArray(dtype, out.buffer) };
}

const isTensor = (value: unknown): value is NamedTensor =>
  typeof value === "object" && value !== null && "dtype" in value && "shape" in value && "data" in value;

/**
 * The state dict in a torch checkpoint (unwrapped from `{"model": …}` / `{"state_dict": …}`): read
 * are the zip's directory and the pickle; each tensor's bytes when its values are asked for.
 */
export function decodeTorchCheckpoint(source: ByteSource): Map<string, NamedTensor> {
  const file = source.name;
  const entries = readZip(source);
  const pickleName = [...entries.keys()].find((name) => name.endsWith("/data.pkl") || name === "data.pkl");
  if (pickleName === undefined) throw new UnpicklingError(`${file}: a zip file but not a PyTorch checkpoint (no data.pkl)`);
  const archive = pickleName.slice(0, -"data.pkl".length);
  const storages = new Map<string, Storage>();

  const refuse = (what: string): never => {
    throw new UnpicklingError(
      `${file}: refusing to load: the pickle asks for \`${what}\`, which a state dict never needs ` +
        `(allowed: ${allowedGlobals().join(", ")}). Load only files from sources you trust.`,
    );
  };
  const globals = new Map<string, (...args: unknown[]) => unknown>([
    ["collections.OrderedDict", () => new PyDict()],
    [
      "torch._utils._rebuild_tensor_v2",
      (...args) => {
        const { storage, offset, shape, stride } = rebuildArguments(file, args);
        return storage instanceof UnreadTensor ? storage : rebuildTensor(file, storage, offset, shape, stride);
      },
    ],
    ["torch._utils._rebuild_parameter", (data) => data],
  ]);
  // Storage types are only ever named in a persistent id, never called.
  const storageTypes = new Map<unknown, Dtype | UnreadTensor>();
  for (const [name, dtype] of [...Object.entries(STORAGE_DTYPES), ...Object.entries(UNREAD_STORAGES).map(([n, d]) => [n, new UnreadTensor(d)] as const)]) {
    const storageType = () => refuse(`torch.${name}(…)`);
    storageTypes.set(storageType, dtype);
    globals.set(`torch.${name}`, storageType);
  }
  const value = unpickle(entries.get(pickleName)!.read(), file, {
    resolveGlobal: (module, name) => globals.get(`${module}.${name}`) ?? refuse(`${module}.${name}`),
    persistentLoad: (pid) => {
      // ('storage', storage_type, key, location, numel)
      const [kind, storageType, key] = Array.isArray(pid) ? pid : [];
      const dtype = storageTypes.get(storageType);
      if (kind !== "storage" || dtype === undefined || typeof key !== "string") return refuse(`persistent id ${String(pid)}`);
      if (dtype instanceof UnreadTensor) return dtype;
      let storage = storages.get(key);
      if (!storage) {
        const entry = entries.get(`${archive}data/${key}`);
        if (!entry) throw new UnpicklingError(`${file}: storage ${key} is missing from the archive (corrupt file)`);
        storage = { dtype, entry };
        storages.set(key, storage);
      }
      return storage;
    },
  });

  let stateDict = value;
  if (value instanceof PyDict) {
    const wrapper = WRAPPER_KEYS.find((key) => value.get(key) instanceof PyDict);
    if (wrapper) stateDict = value.get(wrapper);
  }
  if (!(stateDict instanceof PyDict)) throw new UnpicklingError(`${file}: holds no state dict (expected a dict of tensors, or {"model": state_dict})`);
  const tensors = new Map<string, NamedTensor>();
  for (const [key, tensor] of stateDict) {
    if (tensor instanceof UnreadTensor)
      throw new UnpicklingError(`${file}: tensor ${String(key)} is ${tensor.dtype}, which no weight is (detc reads float64, float32, float16, bfloat16, int64 and int32)`);
    if (typeof key !== "string" || !isTensor(tensor))
      throw new UnpicklingError(`${file}: entry ${String(key)} is not a tensor; expected a state dict (or {"model": state_dict})`);
    tensors.set(key, tensor);
  }
  return tensors;
}

/** A minimal protocol-2 pickle writer: just the opcodes a state dict of tensors needs. */
class PickleWriter {
  private readonly chunks: Buffer[] = [Buffer.from([0x80, 2])];
  private op = (...bytes: number[]) => this.chunks.push(Buffer.from(bytes));
  global(module: string, name: string) {
    this.chunks.push(Buffer.from(`c${module}\n${name}\n`, "utf8"));
  }
  string(text: string) {
    const bytes = Buffer.from(text, "utf8");
    const length = Buffer.alloc(4);
    length.writeUInt32LE(bytes.length);
    this.chunks.push(Buffer.from([0x58]), length, bytes);
  }
  int(value: number) {
    const bytes = Buffer.alloc(5);
    bytes[0] = 0x4a; // BININT: every offset, extent and stride of a state dict fits 31 bits
    bytes.writeInt32LE(value, 1);
    this.chunks.push(bytes);
  }
  tuple(values: readonly number[]) {
    this.mark();
    values.forEach((value) => this.int(value));
    this.op(0x74);
  }
  mark = () => this.op(0x28);
  emptyTuple = () => this.op(0x29);
  tupleFromMark = () => this.op(0x74);
  reduce = () => this.op(0x52);
  persistentId = () => this.op(0x51);
  setItems = () => this.op(0x75);
  newFalse = () => this.op(0x89);
  bytes(): Buffer {
    return Buffer.concat([...this.chunks, Buffer.from([0x2e])]);
  }
}

const STORAGE_OF: Record<Dtype, string> = Object.fromEntries(Object.entries(STORAGE_DTYPES).map(([name, dtype]) => [dtype, name])) as Record<Dtype, string>;

/** A `torch.save(OrderedDict(tensors))` file: contiguous tensors, one storage each. */
export function encodeTorchCheckpoint(tensors: ReadonlyMap<string, NamedTensor>, archive = "archive"): Buffer {
  const pickle = new PickleWriter();
  const storages: [string, Uint8Array][] = [];
  const emptyOrderedDict = () => {
    pickle.global("collections", "OrderedDict");
    pickle.emptyTuple();
    pickle.reduce();
  };
  emptyOrderedDict();
  pickle.mark();
  for (const [name, tensor] of tensors) {
    const key = String(storages.length);
    const count = tensor.data.length;
    storages.push([`${archive}/data/${key}`, new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength)]);
    const strides = tensor.shape.map((_, axis) => tensor.shape.slice(axis + 1).reduce((a, b) => a * b, 1));
    pickle.string(name);
    pickle.global("torch._utils", "_rebuild_tensor_v2");
    pickle.mark();
    pickle.mark();
    pickle.string("storage");
    pickle.global("torch", STORAGE_OF[tensor.dtype]);
    pickle.string(key);
    pickle.string("cpu");
    pickle.int(count);
    pickle.tupleFromMark();
    pickle.persistentId();
    pickle.int(0);
    pickle.tuple(tensor.shape);
    pickle.tuple(strides);
    pickle.newFalse(); // requires_grad
    emptyOrderedDict(); // backward hooks
    pickle.tupleFromMark();
    pickle.reduce();
  }
  pickle.setItems();
  return writeZip([[`${archive}/data.pkl`, pickle.bytes()], ...storages, [`${archive}/version`, Buffer.from("3\n")]]);
}
