/** `baton codec-server`: the Temporal codec endpoints, so the Web UI and CLI read encrypted payloads. */
import type { Command } from 'commander';
import { codecServerSettings, loadConfig } from '../../config.js';
import { GoalCommandError } from '../errors.js';
import { examples, jsonOption, out, type JsonFlag } from '../text.js';

/** Adds `baton codec-server`. */
export function addCodecServer(program: Command): void {
  program
    .command('codec-server')
    .description('serve the Temporal codec endpoints (/encode, /decode) so the Web UI and CLI read encrypted payloads')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port', '8081')
    .option('--origin <url...>', 'Web UI origins allowed by CORS', ['http://localhost:8233', 'http://127.0.0.1:8233'])
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Needs BATON_ENCRYPTION_KEYS (the worker's keys); requests must carry "Authorization: Bearer $BATON_CODEC_TOKEN" or
an OIDC access token valid under BATON_CODEC_OIDC_JWKS_URL (the Web UI's, with TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true;
one of them is required unless --host is loopback), and a Host it serves (BATON_CODEC_HOSTS). Then: temporal workflow
show -w ID --codec-endpoint http://127.0.0.1:8081 --codec-auth "Bearer $BATON_CODEC_TOKEN", or set the endpoint in
the Web UI's codec settings.
${examples('BATON_CODEC_TOKEN=$(openssl rand -hex 24) npx baton codec-server --port 8081')}`,
    )
    .action(async (opts: JsonFlag & { host: string; port: string; origin: string[] }) => {
      const c = loadConfig();
      const { configuredDataConverter } = await import('../../codec/data-converter.js');
      const converter = configuredDataConverter(c);
      const codec = converter?.payloadCodecs?.[0];
      if (!codec) {
        throw new GoalCommandError(
          'set BATON_ENCRYPTION_KEYS: the codec server decrypts with the same keys as the worker',
          'config',
        );
      }
      const { startCodecServer } = await import('../../codec/server.js');
      const server = await startCodecServer({
        codec,
        host: opts.host,
        port: Number(opts.port),
        origins: opts.origin,
        ...(converter?.externalStorage ? { storage: converter.externalStorage } : {}),
        ...codecServerSettings(c),
      });
      const stopped = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      const auth =
        c.codecToken || c.codecOidc
          ? `${[c.codecToken ? 'bearer token' : '', c.codecOidc ? 'OIDC access token' : ''].filter(Boolean).join(' or ')} required`
          : 'no token: loopback only';
      out(opts, { url: server.url, auth, origins: opts.origin }, () => `codec server on ${server.url} (${auth})`);
      await stopped;
      await server.close();
    });
}
