/**
 * Writes ONNX models without Python: `onnx-proto` builds the ModelProto, and the shapes here are the
 * ones onnxruntime-node 1.30 is known to load (IR 8, opset 15, ai.onnx.ml 3).
 *
 * Two models are built: the trainer's gradient-boosted trees (TreeEnsembleRegressor + Sigmoid) and a
 * logistic regression (MatMul + Add + Sigmoid), which tests use because its true per-feature effects
 * are known.
 */
import onnxProto from 'onnx-proto';

// onnx-proto is CommonJS (protobufjs static code): only the default import works under NodeNext.
const { onnx } = onnxProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;
type INodeProto = onnxProto.onnx.INodeProto;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const A = onnx.AttributeProto.AttributeType;

export const ONNX_OPSET = 15;
export const ONNX_ML_OPSET = 3;

export function intsAttr(name: string, ints: readonly number[]): IAttributeProto {
  return { name, type: A.INTS, ints: [...ints] };
}
export function floatsAttr(name: string, floats: readonly number[]): IAttributeProto {
  return { name, type: A.FLOATS, floats: [...floats] };
}
export function intAttr(name: string, i: number): IAttributeProto {
  return { name, type: A.INT, i };
}
export function stringAttr(name: string, s: string): IAttributeProto {
  return { name, type: A.STRING, s: new TextEncoder().encode(s) };
}
export function stringsAttr(name: string, strings: readonly string[]): IAttributeProto {
  const enc = new TextEncoder();
  return { name, type: A.STRINGS, strings: strings.map((s) => enc.encode(s)) };
}

/** A float tensor [N, width]; N is symbolic so any batch size runs. */
export function floatMatrixInfo(name: string, width: number | null): IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: [{ dimParam: 'N' }, width === null ? { dimParam: 'F' } : { dimValue: width }] },
      },
    },
  };
}

export interface ModelParts {
  nodes: INodeProto[];
  inputs: IValueInfoProto[];
  outputs: IValueInfoProto[];
  initializers?: onnxProto.onnx.ITensorProto[];
  docString?: string;
  /** Key/value pairs stored in the model (ModelProto.metadata_props). */
  metadata?: Record<string, string>;
}

export function buildModel(parts: ModelParts): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'churn-worker',
    producerVersion: '1',
    docString: parts.docString ?? '',
    opsetImport: [
      { domain: '', version: ONNX_OPSET },
      { domain: 'ai.onnx.ml', version: ONNX_ML_OPSET },
    ],
    metadataProps: Object.entries(parts.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: 'churn',
      node: parts.nodes,
      input: parts.inputs,
      output: parts.outputs,
      initializer: parts.initializers ?? [],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** One regression tree in the flat form TreeEnsembleRegressor wants; node ids are 0..n-1. */
export interface FlatTree {
  /** Per node: feature index (0 for leaves). */
  featureIds: number[];
  /** Per node: threshold; the input goes to the true branch when `x <= threshold` (BRANCH_LEQ). */
  thresholds: number[];
  trueIds: number[];
  falseIds: number[];
  /** Per node: leaf value, or NaN for a branch. */
  leafValues: number[];
}

export interface TreeModelOptions {
  trees: readonly FlatTree[];
  baseValue: number;
  width: number;
  inputName: string;
  outputName: string;
  docString?: string;
  metadata?: Record<string, string>;
}

/**
 * TreeEnsembleRegressor (post_transform NONE, base_values = initial log-odds) followed by Sigmoid:
 * ORT ignores post_transform LOGISTIC when there is one target, so the link is a separate node.
 * Missing values (NaN) never reach the model: the encoder imputes them, so
 * nodes_missing_value_tracks_true is left at its default (false).
 */
export function treeEnsembleModel(o: TreeModelOptions): Uint8Array {
  const nodesTreeIds: number[] = [];
  const nodesNodeIds: number[] = [];
  const nodesFeatureIds: number[] = [];
  const nodesValues: number[] = [];
  const nodesModes: string[] = [];
  const nodesTrue: number[] = [];
  const nodesFalse: number[] = [];
  const targetTreeIds: number[] = [];
  const targetNodeIds: number[] = [];
  const targetIds: number[] = [];
  const targetWeights: number[] = [];
  o.trees.forEach((tree, treeId) => {
    for (let n = 0; n < tree.featureIds.length; n++) {
      const leaf = !Number.isNaN(tree.leafValues[n]!);
      nodesTreeIds.push(treeId);
      nodesNodeIds.push(n);
      nodesFeatureIds.push(leaf ? 0 : tree.featureIds[n]!);
      nodesValues.push(leaf ? 0 : tree.thresholds[n]!);
      nodesModes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      nodesTrue.push(leaf ? 0 : tree.trueIds[n]!);
      nodesFalse.push(leaf ? 0 : tree.falseIds[n]!);
      if (leaf) {
        targetTreeIds.push(treeId);
        targetNodeIds.push(n);
        targetIds.push(0);
        targetWeights.push(tree.leafValues[n]!);
      }
    }
  });
  const ensemble: INodeProto = {
    opType: 'TreeEnsembleRegressor',
    domain: 'ai.onnx.ml',
    name: 'trees',
    input: [o.inputName],
    output: ['margin'],
    attribute: [
      intAttr('n_targets', 1),
      stringAttr('aggregate_function', 'SUM'),
      stringAttr('post_transform', 'NONE'),
      floatsAttr('base_values', [o.baseValue]),
      intsAttr('nodes_treeids', nodesTreeIds),
      intsAttr('nodes_nodeids', nodesNodeIds),
      intsAttr('nodes_featureids', nodesFeatureIds),
      floatsAttr('nodes_values', nodesValues),
      stringsAttr('nodes_modes', nodesModes),
      intsAttr('nodes_truenodeids', nodesTrue),
      intsAttr('nodes_falsenodeids', nodesFalse),
      intsAttr('target_treeids', targetTreeIds),
      intsAttr('target_nodeids', targetNodeIds),
      intsAttr('target_ids', targetIds),
      floatsAttr('target_weights', targetWeights),
    ],
  };
  const sigmoid: INodeProto = { opType: 'Sigmoid', name: 'link', input: ['margin'], output: [o.outputName] };
  return buildModel({
    nodes: [ensemble, sigmoid],
    inputs: [floatMatrixInfo(o.inputName, o.width)],
    outputs: [floatMatrixInfo(o.outputName, 1)],
    docString: o.docString,
    metadata: o.metadata,
  });
}

export interface LogisticModelOptions {
  weights: readonly number[];
  bias: number;
  inputName: string;
  outputName: string;
  /** Declare the input width (default) or leave it symbolic, as some exporters do. */
  declareWidth?: boolean;
}

/** p = sigmoid(x · w + b), as MatMul + Add + Sigmoid. */
export function logisticRegressionModel(o: LogisticModelOptions): Uint8Array {
  const width = o.weights.length;
  const initializers = [
    { name: 'W', dataType: FLOAT, dims: [width, 1], floatData: [...o.weights] },
    { name: 'B', dataType: FLOAT, dims: [1], floatData: [o.bias] },
  ];
  return buildModel({
    nodes: [
      { opType: 'MatMul', name: 'matmul', input: [o.inputName, 'W'], output: ['xw'] },
      { opType: 'Add', name: 'add', input: ['xw', 'B'], output: ['margin'] },
      { opType: 'Sigmoid', name: 'link', input: ['margin'], output: [o.outputName] },
    ],
    inputs: [floatMatrixInfo(o.inputName, o.declareWidth === false ? null : width)],
    outputs: [floatMatrixInfo(o.outputName, 1)],
    initializers,
  });
}

/**
 * A model whose output is a ZipMap (a sequence of maps), the shape scikit-learn classifiers export
 * unless `zipmap` is turned off. Tests use it to check that start-up refuses such models.
 */
export function zipMapModel(inputName: string, width: number): Uint8Array {
  const initializers = [{ name: 'W', dataType: FLOAT, dims: [width, 2], floatData: new Array(width * 2).fill(0.1) }];
  return buildModel({
    nodes: [
      { opType: 'MatMul', name: 'matmul', input: [inputName, 'W'], output: ['scores'] },
      { opType: 'Softmax', name: 'softmax', input: ['scores'], output: ['probabilities'], attribute: [intAttr('axis', 1)] },
      {
        opType: 'ZipMap',
        domain: 'ai.onnx.ml',
        name: 'zipmap',
        input: ['probabilities'],
        output: ['output_probability'],
        attribute: [intsAttr('classlabels_int64s', [0, 1])],
      },
    ],
    inputs: [floatMatrixInfo(inputName, width)],
    outputs: [
      {
        name: 'output_probability',
        type: { sequenceType: { elemType: { mapType: { keyType: onnx.TensorProto.DataType.INT64, valueType: { tensorType: { elemType: FLOAT } } } } } },
      },
    ],
    initializers,
  });
}
