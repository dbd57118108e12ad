/** The model and sample integration tests again, with the control plane's objects in S3 (s3rver). */
process.env.EDGELOOP_TEST_OBJECT_STORE = 's3';
await import('./models-samples.test.ts');
