// Entry of an inference worker thread (see onnx-backend.ts). Workers do not inherit the main
// thread's TypeScript loader, so this plain-JS file registers tsx before loading the backend.
import { register } from 'tsx/esm/api';

register();
const { runOnnxSessionWorker } = await import('./onnx-backend.ts');
await runOnnxSessionWorker();
