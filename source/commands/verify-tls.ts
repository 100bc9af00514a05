import type { CommandSpec } from '../command.js';
import { OperatorError, UsageError } from '../errors.js';
import { readTextFile } from '../system/files.js';
import { readPrivateFile } from '../system/secrets.js';
import { checkTls, formatTlsReport } from '../system/tls-check.js';
import { printJson } from '../output.js';

export function parseHostPort(value: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port > 0 && port < 65536)) throw new UsageError(`--connect "${value}" is not HOST:PORT.`, 'Pass e.g. --connect db.internal:5433 or --connect [::1]:8443.');
  return { host: m[1]!, port };
}

const VERSIONS: Record<string, 'TLSv1.2' | 'TLSv1.3'> = { '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' };

export const command: CommandSpec = {
  name: 'verify-tls',
  summary: 'Performs a (mutual) TLS handshake and reports which chain each side presented and whether the other side verified it (the seed\'s s_server/s_client recipe, built in).',
  usage: 'verify-tls --connect HOST:PORT --ca FILE [--cert FILE --key FILE] [--servername NAME] [--tls-version 1.2|1.3]',
  flags: [
    { name: 'connect', type: 'string', value: 'HOST:PORT', description: 'the TLS server' },
    { name: 'ca', type: 'string', value: 'FILE', description: 'root(s) trusted for the server\'s certificate' },
    { name: 'cert', type: 'string', value: 'FILE', description: 'client certificate, optionally followed by its intermediates (a build-cert bundle)' },
    { name: 'key', type: 'string', value: 'FILE', description: 'the client certificate\'s key (mode 0600)' },
    { name: 'servername', type: 'string', value: 'NAME', description: 'SNI and the name checked in the server certificate (default: HOST unless it is an IP)' },
    { name: 'tls-version', type: 'string', value: '1.2|1.3', description: 'pin the protocol version (the seed\'s recipe uses 1.2)' },
  ],
  async run(ctx) {
    const { host, port } = parseHostPort(ctx.flags.require('connect'));
    const caFile = ctx.flags.require('ca');
    const certFile = ctx.flags.string('cert');
    const keyFile = ctx.flags.string('key');
    if (Boolean(certFile) !== Boolean(keyFile)) throw new UsageError('--cert and --key go together.', 'Pass both for a mutual TLS handshake, or neither.');
    const versionFlag = ctx.flags.string('tls-version');
    const version = versionFlag ? VERSIONS[versionFlag] : undefined;
    if (versionFlag && !version) throw new UsageError(`--tls-version "${versionFlag}" is not 1.2 or 1.3.`, 'Pass --tls-version 1.2 or --tls-version 1.3.');
    const ca = await readTextFile(caFile, '--ca');
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new OperatorError(`--ca ${caFile} holds no PEM certificate.`, 'Pass the root CA that signed the server\'s certificate.');
    const cert = certFile ? await readTextFile(certFile, '--cert') : undefined;
    const key = keyFile ? (await readPrivateFile(keyFile, '--key')).toString('utf8') : undefined;
    const report = await checkTls({ host, port, ca, cert, key, servername: ctx.flags.string('servername'), ...(version ? { minVersion: version, maxVersion: version } : {}) });
    if (ctx.flags.bool('json')) printJson(report);
    else process.stdout.write(`${formatTlsReport(report, caFile, certFile)}\n`);
    if (!report.ok) {
      const why = !report.server.verified ? `the server's chain does not verify against ${caFile} (${report.server.error})` : report.client ? `the server did not accept the client certificate (${report.client.how})` : `the server dropped the connection (${report.connection.how})`;
      throw new OperatorError(`The TLS check against ${host}:${port} failed: ${why}.`, !report.server.verified ? 'Pass the root that signed the server certificate as --ca, or fix the server\'s chain (it must send its intermediates).' : report.client ? 'Present the bundle whose root the server trusts (build-cert writes one per --trust-path), issued for a name the server accepts.' : 'The server may require a client certificate: pass --cert and --key.');
    }
    return 0;
  },
};
