import type { VaultClient } from './client.js';

/**
 * The raft reads of a cluster (OpenBao 2.x, checked against a three-node cluster on 2.7.2):
 * - sys/leader (unauthenticated): ha_enabled, is_self, leader_address, raft_applied_index;
 * - sys/storage/raft/configuration (token): servers[] with node_id, address (cluster port), leader, voter;
 * - sys/storage/raft/autopilot/state (token): healthy, failure_tolerance, leader, voters, servers{id:
 *   {status leader|voter|non-voter, node_status alive|left, healthy, last_index, last_contact}}.
 */

export interface LeaderInfo {
  ha_enabled: boolean;
  is_self: boolean;
  leader_address: string;
  leader_cluster_address?: string;
  raft_committed_index?: number;
  raft_applied_index?: number;
}

export interface RaftServer {
  node_id: string;
  address: string;
  leader: boolean;
  voter: boolean;
}

export interface AutopilotServer {
  id: string;
  address: string;
  node_status: string;
  status: string;
  healthy: boolean;
  last_index: number;
  last_contact?: string;
}

export interface AutopilotState {
  healthy: boolean;
  failure_tolerance: number;
  leader: string;
  voters: string[];
  servers: Record<string, AutopilotServer>;
}

export async function readLeader(vault: VaultClient): Promise<LeaderInfo> {
  const res = await vault.read<never>('sys/leader', { anonymous: true });
  return res.json as unknown as LeaderInfo;
}

export async function readRaftConfiguration(vault: VaultClient): Promise<{ servers: RaftServer[]; index: number }> {
  const res = await vault.read<{ config: { servers: RaftServer[]; index: number } }>('sys/storage/raft/configuration');
  const config = res.json?.data?.config;
  if (!config) throw new Error(`${vault.addr} answered sys/storage/raft/configuration without a configuration`);
  return config;
}

export async function readAutopilot(vault: VaultClient): Promise<AutopilotState> {
  const res = await vault.read<AutopilotState>('sys/storage/raft/autopilot/state');
  const data = res.json?.data;
  if (!data) throw new Error(`${vault.addr} answered sys/storage/raft/autopilot/state without data`);
  return data;
}
