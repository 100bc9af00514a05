import net from 'node:net';
import type tls from 'node:tls';
import { connectTls, peerChain } from './tls-probe.js';
import { X509Certificate } from 'node:crypto';
import { ExternalError } from '../errors.js';
import { subjectLine, issuerLine, isSelfSigned } from '../pki/chain.js';

/**
 * The seed's s_server / s_client recipe as one call: a (mutual) TLS handshake that reports which
 * chain each side presented and whether the other side accepted it.
 *
 * Why the wait after the handshake: in TLS 1.3 the client finishes its handshake before the server
 * has looked at the client certificate, so a rejection arrives as an alert just after
 * "secureConnect". The server's session ticket (sent once it accepted the client) or that alert
 * settles it; a server that sends no tickets and no alert within `settleMs` accepted it. In TLS 1.2
 * the server checks the client certificate before its Finished, so the handshake itself settles it.
 */

export interface CertLine {
  subject: string;
  issuer: string;
  fingerprint: string;
  notAfter: string;
  /** The certificate is one of the --ca anchors (Node completes the chain from the trust store). */
  fromCaFile: boolean;
  selfSigned: boolean;
}

export interface TlsReport {
  target: string;
  protocol?: string | undefined;
  cipher?: string | undefined;
  server: { chain: CertLine[]; verified: boolean; error?: string | undefined };
  client?: { chain: CertLine[]; accepted: boolean | undefined; how: string };
  /** Whether the server kept the connection after the handshake (a rejection is an alert). */
  connection: { accepted: boolean | undefined; how: string };
  ok: boolean;
}

export interface TlsCheckInput {
  host: string;
  port: number;
  ca: string;
  cert?: string | undefined;
  key?: string | undefined;
  servername?: string | undefined;
  maxVersion?: tls.SecureVersion | undefined;
  minVersion?: tls.SecureVersion | undefined;
  timeoutMs?: number;
  settleMs?: number;
}

function line(cert: X509Certificate, anchors: Set<string>): CertLine {
  return {
    subject: subjectLine(cert),
    issuer: issuerLine(cert),
    fingerprint: cert.fingerprint256,
    notAfter: new Date(cert.validTo).toISOString(),
    fromCaFile: anchors.has(cert.fingerprint256),
    selfSigned: isSelfSigned(cert),
  };
}

const ALERTS: Record<string, string> = {
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: 'alert "unknown CA": the server does not trust the root this chain leads to',
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: 'alert "certificate required": the server requires a client certificate',
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: 'alert "bad certificate"',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: 'alert "certificate expired"',
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: 'alert "certificate unknown"',
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: 'alert "unsupported certificate" (key usage or EKU does not allow client auth)',
  ERR_SSL_TLSV1_ALERT_ACCESS_DENIED: 'alert "access denied"',
  ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR: 'alert "decrypt error" (the key does not match the certificate?)',
  ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE: 'alert "handshake failure"',
};

function describeAlert(error: NodeJS.ErrnoException): string {
  return ALERTS[error.code ?? ''] ?? `${error.code ?? 'error'}: ${error.message.split('\n')[0]}`;
}

export async function checkTls(input: TlsCheckInput): Promise<TlsReport> {
  const anchors = new Set<string>();
  for (const block of input.ca.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []) anchors.add(new X509Certificate(block).fingerprint256);
  const clientChain = input.cert ? (input.cert.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b)) : [];
  const target = `${input.host}:${input.port}`;
  const servername = input.servername ?? (net.isIP(input.host) ? undefined : input.host);
  const settleMs = input.settleMs ?? 1500;
  return new Promise<TlsReport>((resolve, reject) => {
    let secure = false;
    let settled = false;
    let serverChain: X509Certificate[] = [];
    // The one probe's opener: verification reported below, so an untrusted server's chain shows too.
    const socket = connectTls({ host: input.host, port: input.port, ca: input.ca, cert: input.cert, key: input.key, servername, minVersion: input.minVersion, maxVersion: input.maxVersion });
    const overall = setTimeout(() => finish(undefined, `no TLS answer within ${Math.round((input.timeoutMs ?? 10_000) / 1000)} s`), input.timeoutMs ?? 10_000);
    let settleTimer: NodeJS.Timeout | undefined;
    const finish = (accepted: boolean | undefined, how: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(overall);
      if (settleTimer) clearTimeout(settleTimer);
      if (serverChain.length === 0) serverChain = peerChain(socket);
      const protocol = socket.getProtocol() ?? undefined;
      const cipher = socket.getCipher()?.name;
      socket.destroy();
      if (!secure && serverChain.length === 0 && accepted === undefined) {
        reject(new ExternalError(`The TLS handshake with ${target} failed: ${how}.`, 'Check that the port speaks TLS (not plain text, not STARTTLS) and that HOST:PORT is right.'));
        return;
      }
      const serverVerified = secure && socket.authorized;
      const report: TlsReport = {
        target,
        protocol,
        cipher,
        server: { chain: serverChain.map((c) => line(c, anchors)), verified: serverVerified, error: serverVerified ? undefined : String(socket.authorizationError ?? 'handshake did not complete') },
        connection: { accepted, how },
        ok: false,
      };
      if (input.cert) report.client = { chain: clientChain.map((c) => line(c, anchors)), accepted, how };
      report.ok = serverVerified && accepted === true;
      resolve(report);
    };
    socket.once('secureConnect', () => {
      secure = true;
      serverChain = peerChain(socket);
      if (socket.getProtocol() !== 'TLSv1.3') return finish(true, `the server finished the ${socket.getProtocol()} handshake${input.cert ? ' after checking it' : ''}`);
      settleTimer = setTimeout(() => finish(true, `no alert from the server within ${settleMs} ms after the handshake`), settleMs);
    });
    socket.once('session', () => {
      if (secure) finish(true, `the server sent a session ticket${input.cert ? ' after checking it' : ''}`);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (/ALERT/.test(error.code ?? '')) return finish(false, `the server sent ${describeAlert(error)}`);
      if (secure) return finish(false, `the server closed the connection: ${error.message.split('\n')[0]}`);
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOTFOUND' || error.code === 'EHOSTUNREACH' || error.code === 'ETIMEDOUT') {
        settled = true;
        clearTimeout(overall);
        reject(new ExternalError(`Cannot connect to ${target} (${error.code}).`, 'Check that the server is running and HOST:PORT is right.'));
        return;
      }
      finish(undefined, error.message.split('\n')[0] ?? String(error));
    });
    socket.once('end', () => {
      if (secure) finish(false, 'the server closed the connection right after the handshake');
    });
  });
}

export function formatTlsReport(report: TlsReport, caFile: string, certFile?: string): string {
  const lines = [`TLS handshake with ${report.target}${report.protocol ? `: ${report.protocol}, ${report.cipher}` : ''}`];
  const chain = (certs: CertLine[]) =>
    certs.map((c, i) => `  ${i}  ${c.subject}  (issued by ${c.issuer}; until ${c.notAfter.slice(0, 10)})${c.fromCaFile ? ' [trust anchor from --ca]' : ''}`);
  lines.push('Server presented:', ...chain(report.server.chain));
  lines.push(`  verified against --ca ${caFile}: ${report.server.verified ? 'yes' : `NO (${report.server.error})`}`);
  if (report.client) {
    lines.push(`Client presented (--cert ${certFile}):`, ...chain(report.client.chain));
    const last = report.client.chain.at(-1);
    if (last && !last.selfSigned) lines.push(`  leads to the root: ${last.issuer}`);
    lines.push(`  accepted by the server: ${report.client.accepted === true ? 'yes' : report.client.accepted === false ? 'NO' : 'unknown'} (${report.client.how})`);
  }
  else lines.push('Client presented: no certificate', `  connection kept by the server: ${report.connection.accepted === false ? 'NO' : 'yes'} (${report.connection.how})`);
  lines.push(report.ok ? `Result: ${report.client ? 'mutual TLS verified on both sides' : 'server verified'}` : 'Result: FAILED');
  return lines.join('\n');
}
