export * from './bodies.ts';
export * from './contract.ts';
export * from './openapi.ts';
export * from './route.ts';
export * from './routes/agent-versions.ts';
export * from './routes/broker-hooks.ts';
export * from './routes/config.ts';
export * from './transport.ts';
export type * from './types.ts';
