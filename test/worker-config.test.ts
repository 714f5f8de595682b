/** `baton worker`'s settings: checked at start, with messages that name the variable, what is wrong and the fix. */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadWorkerConfig } from '../src/config.js';
import { baton } from './helpers/cli.js';

describe('worker configuration', () => {
  it('has production defaults', () => {
    const config = loadWorkerConfig({});
    expect(config).toMatchObject({
      http: { host: '0.0.0.0', port: 9464 },
      log: { format: 'json', level: 'info' },
      shutdownGraceTime: '30s',
      shutdownGraceMs: 30_000,
      serviceName: 'baton-worker',
    });
    expect(config.otlpEndpoint).toBeUndefined();
  });

  it('reads every setting, and BATON_METRICS_PORT=off turns the endpoint off', () => {
    const config = loadWorkerConfig({
      BATON_METRICS_PORT: 'off',
      BATON_LOG_FORMAT: 'pretty',
      BATON_LOG_LEVEL: 'debug',
      BATON_SHUTDOWN_GRACE_TIME: '2m',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_SERVICE_NAME: 'refunds-worker',
    });
    expect(config.http).toBeUndefined();
    expect(config).toMatchObject({
      log: { format: 'pretty', level: 'debug' },
      shutdownGraceMs: 120_000,
      otlpEndpoint: 'http://collector:4318',
      serviceName: 'refunds-worker',
    });
  });

  it('names every bad variable, its value and what it expects', () => {
    expect(() =>
      loadWorkerConfig({ BATON_METRICS_PORT: 'http', BATON_LOG_FORMAT: 'xml', BATON_SHUTDOWN_GRACE_TIME: 'soon' }),
    ).toThrow(
      new ConfigError(
        'BATON_METRICS_PORT is invalid: expected a port number (0-65535) or off (got "http"); ' +
          'BATON_LOG_FORMAT is invalid: expected json or pretty (got "xml"); ' +
          'BATON_SHUTDOWN_GRACE_TIME is invalid: expected a number and ms, s, m or h, e.g. 30s or 2m (got "soon")',
      ),
    );
    expect(() => loadWorkerConfig({ BATON_METRICS_PORT: '70000' })).toThrow(/BATON_METRICS_PORT is invalid/);
    expect(() => loadWorkerConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT is invalid: expected a URL such as http:\/\/otel-collector:4318/,
    );
  });

  it('checks that files it is given exist before connecting anywhere', () => {
    expect(() =>
      loadWorkerConfig({ TEMPORAL_TLS_CERT: '/no/such/cert.pem', TEMPORAL_TLS_KEY: '/no/such/key.pem' }),
    ).toThrow('TEMPORAL_TLS_CERT names /no/such/cert.pem, which does not exist: mount the file or fix the path');
    expect(() => loadConfig({ TEMPORAL_TLS_CERT: '/no/such/cert.pem' })).toThrow(
      'set both TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY for mTLS, or neither',
    );
    expect(() => loadWorkerConfig({ BATON_WORKFLOW_BUNDLE: '/no/such/bundle.js' })).toThrow(
      'BATON_WORKFLOW_BUNDLE names /no/such/bundle.js, which does not exist: run `npm run build` or unset it',
    );
  });
});

describe('baton worker at start', () => {
  it('exits 1 with the reason when a setting is bad', async () => {
    const r = await baton(['worker'], { BATON_SHUTDOWN_GRACE_TIME: 'forever', BATON_METRICS_PORT: '0' });
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      'baton: BATON_SHUTDOWN_GRACE_TIME is invalid: expected a number and ms, s, m or h, e.g. 30s or 2m (got "forever")',
    );
  });

  it('exits 1 naming the setting to change when the metrics port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const r = await baton(['worker'], { BATON_METRICS_HOST: '127.0.0.1', BATON_METRICS_PORT: String(port) });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `baton: cannot serve metrics on 127.0.0.1:${port}: port ${port} is in use: set BATON_METRICS_PORT to a free port, or off`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
