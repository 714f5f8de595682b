/** Connection options shared by the CLI's client and the worker, from the same settings. */
import { readFileSync } from 'node:fs';
import type { BatonConfig } from './config.js';

/** TLS, mTLS or API-key options for a Temporal connection; plain gRPC when none is configured. */
export function connectionOptions(config: BatonConfig): {
  address: string;
  tls?: { clientCertPair: { crt: Buffer; key: Buffer } } | true;
  apiKey?: string;
} {
  const base = { address: config.address };
  if (config.tlsCertPath && config.tlsKeyPath) {
    return {
      ...base,
      tls: { clientCertPair: { crt: readFileSync(config.tlsCertPath), key: readFileSync(config.tlsKeyPath) } },
      ...(config.apiKey ? { apiKey: config.apiKey } : {}),
    };
  }
  if (config.apiKey) return { ...base, tls: true, apiKey: config.apiKey };
  return base;
}
