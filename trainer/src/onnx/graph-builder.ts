import { type Attribute, floatTensor, int64Tensor, type OnnxNode, type TensorInit } from './onnx-proto.ts';

/** Collects nodes and initializers with unique value names while a model is translated. */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: TensorInit[] = [];
  private readonly used = new Set<string>();
  private readonly constants = new Map<string, string>();

  constructor(reserved: readonly string[]) {
    for (const r of reserved) this.used.add(r);
  }

  uniqueName(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Adds a single-output node and returns the name of its output. */
  node(opType: string, inputs: string[], outputBase: string, attributes?: Attribute[]): string {
    const output = this.uniqueName(outputBase);
    this.nodes.push({ name: output, opType, inputs, outputs: [output], attributes });
    return output;
  }

  /** An Identity writing `input` to a name reserved in the constructor (a graph output). */
  identityTo(reserved: string, input: string): string {
    this.nodes.push({ name: reserved, opType: 'Identity', inputs: [input], outputs: [reserved] });
    return reserved;
  }

  floats(base: string, dims: readonly number[], data: Float32Array): string {
    const name = this.uniqueName(base);
    this.initializers.push(floatTensor(name, dims, data));
    return name;
  }

  int64s(base: string, dims: readonly number[], data: readonly number[]): string {
    const name = this.uniqueName(base);
    this.initializers.push(int64Tensor(name, dims, data));
    return name;
  }

  /** A shared rank-0 float constant (e.g. Clip bounds), created once per value. */
  scalar(value: number): string {
    const key = `f32:${value}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.floats(`const_${String(value).replace(/[^0-9a-z]/gi, '_')}`, [], Float32Array.of(value));
      this.constants.set(key, name);
    }
    return name;
  }

  /** Renames a value everywhere it is produced or consumed (used to name the graph output). */
  rename(from: string, to: string): void {
    if (this.nodes.some((n) => n.outputs.includes(to)) || this.initializers.some((t) => t.name === to)) {
      throw new Error(`value name ${to} already in use`);
    }
    for (const n of this.nodes) {
      n.inputs = n.inputs.map((i) => (i === from ? to : i));
      n.outputs = n.outputs.map((o) => (o === from ? to : o));
    }
    this.used.add(to);
  }
}
