// Failure converter for encrypted deployments: messages and stack traces travel inside a payload, so the payload
// codec encrypts them too. CommonJS because the worker loads it by path, in its main thread and in the workflow bundle.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
