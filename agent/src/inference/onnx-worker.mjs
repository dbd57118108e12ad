// The worker-thread half of the onnxruntime adapter (see onnx-backend.ts for why sessions live in
// workers). Plain JavaScript on purpose: a worker does not inherit the main thread's TypeScript
// loader, and registering one costs about a second per model load. It speaks a small message
// protocol with onnx-backend.ts and imports nothing of ours.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

/** Picks the input/output name, or explains which names the model has. */
function pickName(kind, available, wanted) {
  if (wanted === undefined) {
    if (available.length === 0) throw new Error(`model has no ${kind}`);
    return available[0];
  }
  if (!available.includes(wanted)) {
    throw new Error(`model has no ${kind} named '${wanted}' (it has: ${available.join(', ') || 'none'})`);
  }
  return wanted;
}

const errorReply = (id, err) => ({ type: 'error', id, message: err?.message ?? String(err) });

async function main() {
  const { modelPath, options, providers } = workerData;
  const create = (eps) =>
    ort.InferenceSession.create(modelPath, {
      executionProviders: eps,
      intraOpNumThreads: options.threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  let session;
  let provider;
  let fallback = null;
  // The providers come from the backend's probe; one that still refuses this model (an operator it
  // cannot compile) hands it to the next in the list, as the CPU is for onnxruntime's own nodes.
  const failures = [];
  for (const [i, candidate] of providers.entries()) {
    try {
      session = await create(providers.slice(i));
      provider = candidate;
      break;
    } catch (err) {
      failures.push({ candidate, message: err.message });
    }
  }
  if (!session) {
    const reason = failures.at(-1)?.message ?? 'no execution provider';
    parentPort.postMessage(errorReply(null, new Error(`cannot load model ${modelPath}: ${reason}`)));
    return;
  }
  if (failures.length > 0)
    fallback = `${failures.map((f) => `${f.candidate}: ${f.message}`).join('; ')}; using ${provider}`;
  let inputName;
  let outputName;
  try {
    inputName = pickName('input', session.inputNames, options.inputName);
    outputName = pickName('output', session.outputNames, options.outputName);
  } catch (err) {
    await session.release();
    parentPort.postMessage(errorReply(null, err));
    return;
  }
  // The optional features output (inference-backend.ts FEATURES_OUTPUT_NAME), fetched on request.
  const featuresName =
    outputName !== 'features' && session.outputNames.includes('features') ? 'features' : null;
  parentPort.postMessage({ type: 'ready', inputName, outputName, provider, featuresName, fallback });
  parentPort.on('message', async (msg) => {
    if (msg.type === 'release') {
      await session.release();
      parentPort.close();
      return;
    }
    try {
      const { dtype, data, dims } = msg.input;
      const wanted = msg.withFeatures && featuresName ? [outputName, featuresName] : [outputName];
      const result = await session.run({ [inputName]: new ort.Tensor(dtype, data, dims) }, wanted);
      for (const name of wanted) {
        if (result[name].type !== 'float32')
          throw new Error(`output '${name}' is ${result[name].type}, expected float32`);
      }
      const out = result[outputName];
      const features = wanted.length > 1 ? result[featuresName].data : undefined;
      // A transferred input goes back with the result, so the main thread can reuse it.
      const back = msg.returnInput ? data : undefined;
      const transfer = [
        out.data.buffer,
        ...(back ? [back.buffer] : []),
        ...(features ? [features.buffer] : []),
      ];
      parentPort.postMessage(
        { type: 'result', id: msg.id, output: out.data, features, input: back },
        transfer,
      );
    } catch (err) {
      parentPort.postMessage(errorReply(msg.id, err));
    }
  });
}

await main();
