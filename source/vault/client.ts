import http from 'node:http';
import https from 'node:https';
import { ExternalError, OperatorError } from '../errors.js';

/**
 * The one Vault/OpenBao client: node:https with the environment's CA, nothing else. It never
 * disables TLS verification. Errors come back as sentences with the next step.
 */

export interface VaultConnection {
  addr: string;
  token?: string | undefined;
  /** PEM of the CA(s) trusted for an https address. */
  ca?: string | undefined;
  /** Where the CA came from, to name it in errors. */
  caSource?: string | undefined;
  timeoutMs?: number;
  /**
   * The other nodes of a raft cluster (same CA, same token): when the current node cannot be
   * reached or is sealed, the request goes to the next one, and the client stays with the node
   * that answered. A standby answers too (it forwards to the active node).
   */
  alternates?: string[] | undefined;
}

export interface VaultResponse<T = Record<string, unknown>> {
  status: number;
  json?: { data?: T; errors?: string[]; warnings?: string[]; wrap_info?: Record<string, unknown>; auth?: Record<string, unknown> } & Record<string, unknown>;
  text: string;
  headers: http.IncomingHttpHeaders;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Status codes that are not errors for this call (2xx always are fine). */
  accept?: number[];
  /** Send without the token (unauthenticated endpoints). */
  anonymous?: boolean;
}

const UNKNOWN_AUTHORITY = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

function parseVaultUrl(addr: string): URL {
  let url: URL;
  try {
    url = new URL(addr);
  } catch {
    throw new OperatorError(`The Vault address "${addr}" is not a URL.`, 'Pass --vault-addr https://HOST:PORT or set VAULT_ADDR.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new OperatorError(`The Vault address "${addr}" is neither http nor https.`, 'Pass --vault-addr https://HOST:PORT or set VAULT_ADDR.');
  }
  return url;
}

/** Worth trying another node: this one is not there, or is sealed. */
function nodeUnavailable(error: unknown): boolean {
  if (!(error instanceof ExternalError)) return false;
  return /^(Cannot reach Vault at|Vault at \S+ is sealed)/.test(error.message);
}

export class VaultClient {
  private url: URL;
  private readonly nodes: URL[];

  constructor(readonly connection: VaultConnection) {
    this.url = parseVaultUrl(connection.addr);
    this.nodes = [this.url, ...(connection.alternates ?? []).map(parseVaultUrl).filter((u) => u.origin !== this.url.origin)];
  }

  /** The node this client talks to now (the first given, or the one that answered last). */
  get addr(): string {
    return this.url.origin;
  }

  /** Every node this client may use, the current one first. */
  get addrs(): string[] {
    return [this.url.origin, ...this.nodes.filter((u) => u !== this.url).map((u) => u.origin)];
  }

  get isHttps(): boolean {
    return this.url.protocol === 'https:';
  }

  async request<T = Record<string, unknown>>(method: string, apiPath: string, options: RequestOptions = {}): Promise<VaultResponse<T>> {
    const start = this.url;
    try {
      return await this.requestOnce<T>(method, apiPath, options);
    } catch (error) {
      if (this.nodes.length < 2 || !nodeUnavailable(error)) throw error;
      for (const next of this.nodes.filter((u) => u !== start)) {
        this.url = next;
        try {
          return await this.requestOnce<T>(method, apiPath, options);
        } catch (again) {
          if (!nodeUnavailable(again)) throw again;
        }
      }
      this.url = start;
      throw error;
    }
  }

  private async requestOnce<T>(method: string, apiPath: string, options: RequestOptions): Promise<VaultResponse<T>> {
    const target = new URL(`/v1/${apiPath.replace(/^\/+/, '')}`, this.url);
    const body = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
    if (body !== undefined && !headers['Content-Type']) headers['Content-Type'] = 'application/json';
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    if (!options.anonymous && this.connection.token) headers['X-Vault-Token'] = this.connection.token;
    const timeout = this.connection.timeoutMs ?? 15_000;
    const response = await new Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const requestOptions: https.RequestOptions = { method, headers, timeout };
      if (this.isHttps) {
        requestOptions.ca = this.connection.ca;
        requestOptions.rejectUnauthorized = true;
      }
      const req = (this.isHttps ? https : http).request(target, requestOptions, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    }).catch((error: NodeJS.ErrnoException) => {
      throw this.explainTransportError(error);
    });
    let json: VaultResponse<T>['json'];
    if (response.text && /json/.test(String(response.headers['content-type'] ?? ''))) {
      try {
        json = JSON.parse(response.text);
      } catch {
        json = undefined;
      }
    }
    const result: VaultResponse<T> = { status: response.status, text: response.text, headers: response.headers, ...(json ? { json } : {}) };
    if ((response.status >= 200 && response.status < 300) || options.accept?.includes(response.status)) return result;
    throw this.explainStatus(method, apiPath, result);
  }

  read<T = Record<string, unknown>>(apiPath: string, options: RequestOptions = {}) {
    return this.request<T>('GET', apiPath, options);
  }

  write<T = Record<string, unknown>>(apiPath: string, body: unknown = {}, options: RequestOptions = {}) {
    return this.request<T>('POST', apiPath, { ...options, body });
  }

  list<T = { keys?: string[] }>(apiPath: string, options: RequestOptions = {}) {
    return this.request<T>('LIST', apiPath, { ...options, accept: [404, ...(options.accept ?? [])] });
  }

  patch<T = Record<string, unknown>>(apiPath: string, body: unknown) {
    return this.request<T>('PATCH', apiPath, { body, headers: { 'Content-Type': 'application/merge-patch+json' } });
  }

  /** sys/health with codes forced to 200 so the body always parses. Unauthenticated. */
  async health(): Promise<{ initialized: boolean; sealed: boolean; standby: boolean; version: string }> {
    const res = await this.request<never>('GET', 'sys/health?standbyok=true&sealedcode=200&uninitcode=200&standbycode=200', { anonymous: true });
    const body = res.json as unknown as { initialized: boolean; sealed: boolean; standby: boolean; version: string };
    return body;
  }

  /** Fails with a clear error unless Vault is reachable, initialised and unsealed. */
  async assertReady(): Promise<void> {
    const health = await this.health();
    if (!health.initialized) throw new ExternalError(`Vault at ${this.addr} is not initialised.`, 'Initialise it first: certwright vault-init --env ENV (or bao operator init).');
    if (health.sealed) throw new ExternalError(`Vault at ${this.addr} is sealed.`, 'Unseal it first: certwright vault-unseal --env ENV (or bao operator unseal).');
  }

  private explainTransportError(error: NodeJS.ErrnoException): Error {
    const code = error.code ?? '';
    const where = `Vault at ${this.addr}`;
    const caHint = this.connection.caSource ? ` (trusting ${this.connection.caSource})` : '';
    if (UNKNOWN_AUTHORITY.has(code)) {
      return new ExternalError(
        `${where} presented a certificate from an unknown authority${caHint}.`,
        'Pass --vault-ca or set VAULT_CACERT to the root CA that signed Vault\'s certificate (the environment\'s root-ca.pem), or distribute that CA to this machine.',
        { cause: error },
      );
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return new ExternalError(`${where} presented a certificate that does not name "${this.url.hostname}" (${error.message}).`, `Connect with a name or IP the certificate carries, or re-issue Vault's certificate with --dns/--ip including ${this.url.hostname}.`, { cause: error });
    }
    if (code === 'CERT_HAS_EXPIRED') {
      return new ExternalError(`${where} presented an expired certificate.`, 'Renew it: certwright vault-cert --env ENV --renew ..., then reload Vault (SIGHUP).', { cause: error });
    }
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === 'EAI_AGAIN') {
      return new ExternalError(`Cannot reach Vault at ${this.addr} (${code}).`, 'Check that Vault is running and the address is right (--vault-addr or VAULT_ADDR).', { cause: error });
    }
    if (/wrong version number|packet length too long|EPROTO/i.test(`${code} ${error.message}`)) {
      return new ExternalError(`${where} did not answer ${this.isHttps ? 'TLS' : 'plain HTTP'} (${error.message}).`, `Check the scheme: the server may speak ${this.isHttps ? 'http' : 'https'}.`, { cause: error });
    }
    return new ExternalError(`Cannot reach Vault at ${this.addr}: ${error.message}`, 'Check that Vault is running and the address is right.', { cause: error });
  }

  private explainStatus(method: string, apiPath: string, res: VaultResponse<unknown>): Error {
    const errors = res.json?.errors?.join('; ') || res.text.trim().slice(0, 300) || `HTTP ${res.status}`;
    const call = `${method} ${apiPath.split('?')[0]}`;
    if (res.status === 503 && /sealed/i.test(errors)) {
      return new ExternalError(`Vault at ${this.addr} is sealed.`, 'Unseal it first: certwright vault-unseal --env ENV (or bao operator unseal).', { status: res.status });
    }
    if (res.status === 403) {
      return new ExternalError(
        `Vault at ${this.addr} refused ${call}: permission denied.`,
        this.connection.token ? 'Use a token whose policy allows this path (VAULT_TOKEN, BAO_TOKEN or ~/.vault-token).' : 'No token was found: set VAULT_TOKEN (or BAO_TOKEN) or log in so that ~/.vault-token exists.',
        { status: 403 },
      );
    }
    if (res.status === 400 && /HTTP request to an HTTPS server/i.test(errors) && !this.isHttps) {
      // The operator's address has the wrong scheme: say so, with the address to use instead.
      const https = new URL(this.addr);
      https.protocol = 'https:';
      return new OperatorError(
        `Vault at ${this.addr} speaks HTTPS, not plain HTTP ("${errors}").`,
        `Use --vault-addr ${https.origin} (or set VAULT_ADDR to it), with --vault-ca naming the root that signed its certificate.`,
      );
    }
    if (res.status === 501 && /not initialized|uninitialized/i.test(errors)) {
      return new ExternalError(`Vault at ${this.addr} is not initialised.`, 'Initialise it first: certwright vault-init --env ENV.', { status: res.status });
    }
    return new ExternalError(`Vault at ${this.addr} answered ${res.status} to ${call}: ${errors}`, undefined, { status: res.status });
  }
}
