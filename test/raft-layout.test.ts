/**
 * The raft cluster's pure parts, fast: the node layout rule (ports, ids, names), the rendered
 * retry_join stanzas, the estate file's cluster form and its refusals, the estate-to-steps mapping
 * and the connection rule's failover list. The real three-node cluster is test/raft-cluster.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { nodesFromBase, nodesFromList, nodeNames, nodeApiAddr, nodeClusterAddr, nodesToFacts, nodesFromFacts } from '../source/vault/cluster.js';
import { renderHcl, renderBootstrapHcl } from '../source/vault/server-config.js';
import { parseEstate } from '../source/estate/load.js';
import { estateSteps } from '../source/estate/steps.js';
import { pickConnection } from '../source/vault/connection.js';

const base = 'environment: ha\nroot: { dir: ./r, cn: R }\nintermediate: { cn: I }\n';

describe('raft cluster layout', () => {
  it('node k listens on base + 2(k-1), its cluster port the next one; ids ENV-k', () => {
    const nodes = nodesFromBase('ha', { host: '127.0.0.1', port: 8200 }, 3);
    expect(nodes.map((n) => [n.id, nodeApiAddr(n), nodeClusterAddr(n)])).toEqual([
      ['ha-1', 'https://127.0.0.1:8200', 'https://127.0.0.1:8201'],
      ['ha-2', 'https://127.0.0.1:8202', 'https://127.0.0.1:8203'],
      ['ha-3', 'https://127.0.0.1:8204', 'https://127.0.0.1:8205'],
    ]);
    expect(nodesFromFacts(nodesToFacts(nodes))).toEqual(nodes);
    expect(() => nodesFromBase('ha', { host: '127.0.0.1', port: 65533 }, 3)).toThrow(/no room for 3 nodes/);
    expect(() => nodesFromBase('ha', { host: '127.0.0.1', port: 8200 }, 10)).toThrow(/node count from 1 to 9/);
  });

  it('an explicit list: each node its own address; two nodes on one port pair are refused', () => {
    const nodes = nodesFromList('ha', ['10.0.0.11:8200', 'vault-2.example:8200', '[::1]:8300']);
    expect(nodes.map((n) => nodeApiAddr(n))).toEqual(['https://10.0.0.11:8200', 'https://vault-2.example:8200', 'https://[::1]:8300']);
    expect(() => nodesFromList('ha', ['127.0.0.1:8200', '127.0.0.1:8201'])).toThrow(/ha-1 and ha-2 both need 127\.0\.0\.1:8201/);
  });

  it("a node's certificate names the shared names plus its own host", () => {
    const [a, b] = nodesFromList('ha', ['10.0.0.11:8200', 'vault-2.example:8200']);
    expect(nodeNames(a!, { dns: ['vault.example'], ips: [] })).toEqual({ dns: ['vault.example'], ips: ['10.0.0.11'] });
    expect(nodeNames(b!, { dns: ['vault.example'], ips: ['127.0.0.1'] })).toEqual({ dns: ['vault.example', 'vault-2.example'], ips: ['127.0.0.1'] });
  });

  it('renders one retry_join per peer with the root-only CA file, and the node id', () => {
    const hcl = renderHcl(
      { env: 'ha', listen: { host: '127.0.0.1', port: 8202 }, apiAddr: 'https://127.0.0.1:8202', clusterAddr: 'https://127.0.0.1:8203', storage: 'raft', outDir: '/v/ha-2', tlsDir: '/t/ha-2', dataDir: '/v/ha-2/data', image: 'x', containerName: 'c', user: { uid: 0, gid: 0 }, network: 'host', nodeId: 'ha-2', retryJoin: [{ apiAddr: 'https://127.0.0.1:8200', caFile: '/v/raft-leader-ca.pem' }, { apiAddr: 'https://127.0.0.1:8204', caFile: '/v/raft-leader-ca.pem' }] },
      'host',
    );
    expect(hcl).toContain('node_id = "ha-2"');
    expect(hcl).toContain('cluster_addr  = "https://127.0.0.1:8203"');
    expect(hcl.match(/retry_join \{/g)).toHaveLength(2);
    expect(hcl).toContain('leader_api_addr     = "https://127.0.0.1:8204"');
    expect(hcl).toContain('leader_ca_cert_file = "/v/raft-leader-ca.pem"');
    // The single server keeps its id and has no retry_join.
    const single = renderBootstrapHcl({ env: 'one', listen: { host: '127.0.0.1', port: 8200 }, dataDir: '/d' });
    expect(single).toContain('node_id = "one-1"');
    expect(single).not.toContain('retry_join');
  });
});

describe('the estate file describes a cluster', () => {
  it('nodes: N with listen_base, or a node list, maps to vault-server --nodes / --node-listen', () => {
    const counted = parseEstate(`${base}vault: { nodes: 3, listen_base: 127.0.0.1:8200 }\n`, 'e.yaml', '/srv/e.yaml');
    const vs = estateSteps(counted, { oneMachine: true }).find((s) => s.id === 'vault-server')!;
    expect(vs.values).toMatchObject({ nodes: '3', listen: '127.0.0.1:8200' });
    expect(estateSteps(counted, { oneMachine: true }).map((s) => s.id)).toContain('vault-https');
    const listed = parseEstate(`${base}vault: { nodes: [{ listen: 10.0.0.11:8200 }, { listen: 10.0.0.12:8200 }] }\n`, 'e.yaml', '/srv/e.yaml');
    expect(estateSteps(listed, { oneMachine: true }).find((s) => s.id === 'vault-server')!.values['node-listen']).toEqual(['10.0.0.11:8200', '10.0.0.12:8200']);
  });

  it('refuses the forms that do not make one cluster, naming the key', () => {
    expect(() => parseEstate(`${base}vault: { nodes: 3 }\n`, 'e.yaml')).toThrow(/nodes: 3 needs listen_base/);
    expect(() => parseEstate(`${base}vault: { nodes: 3, listen_base: 127.0.0.1:8200, listen: 127.0.0.1:8200 }\n`, 'e.yaml')).toThrow(/both listen: \(one server\) and nodes:/);
    expect(() => parseEstate(`${base}vault: { nodes: [{ listen: a:1 }], listen_base: 127.0.0.1:8200 }\n`, 'e.yaml')).toThrow(/listen_base: is for nodes: N/);
    expect(() => parseEstate(`${base}vault: { nodes: 3, listen_base: 127.0.0.1:8200, runtime: podman }\n`, 'e.yaml')).toThrow(/host processes/);
    expect(() => parseEstate(`${base}vault: { listen: 127.0.0.1:8200, cluster_address: https://v:8200 }\n`, 'e.yaml')).toThrow(/cluster_address: is for a raft cluster/);
    expect(() => parseEstate(`${base}vault: { nodes: [{ listen: a:1, port: 2 }] }\n`, 'e.yaml')).toThrow(/unknown key "port"/);
  });
});

describe('the connection rule with a recorded cluster', () => {
  it('fails over along the recorded nodes, unless an address is given', () => {
    const stateNodes = ['https://127.0.0.1:8200', 'https://127.0.0.1:8202', 'https://127.0.0.1:8204'];
    expect(pickConnection({ stateAddr: stateNodes[0], stateNodes, environ: {} })).toMatchObject({ addr: stateNodes[0], alternates: stateNodes.slice(1) });
    expect(pickConnection({ stateAddr: stateNodes[0], stateNodes, environ: { VAULT_ADDR: 'https://other:8200' } }).alternates).toBeUndefined();
  });
});
