// What `webhook install` does, without the prompts: shared with `simulate`, which installs the
// integration exactly as the command would.
import type { GorgiasClient } from '../gorgias/client.js';
import type { Integration, NewIntegration } from '../gorgias/types.js';
import { classifyIntegration, integrationDifferences, integrationUpdate } from './integration.js';

export type InstallPlan =
  | { action: 'unchanged'; integration: Integration; ours: number }
  | { action: 'update'; integration: Integration; differences: string[]; ours: number }
  | { action: 'create'; ours: 0 };

/** Pure: keep a right one, else update a stale one of ours, else create. */
export function planInstall(all: Integration[], desired: NewIntegration): InstallPlan {
  const ok = all.filter((i) => classifyIntegration(i, desired) === 'ours-ok');
  const stale = all.filter((i) => classifyIntegration(i, desired) === 'ours-stale');
  const ours = ok.length + stale.length;
  if (ok[0]) return { action: 'unchanged', integration: ok[0], ours };
  if (stale[0]) return { action: 'update', integration: stale[0], differences: integrationDifferences(stale[0], desired), ours };
  return { action: 'create', ours: 0 };
}

export async function applyInstall(
  client: Pick<GorgiasClient, 'createIntegration' | 'updateIntegration'>,
  plan: InstallPlan,
  desired: NewIntegration,
): Promise<{ action: 'created' | 'updated' | 'unchanged'; integration: Integration }> {
  if (plan.action === 'unchanged') return { action: 'unchanged', integration: plan.integration };
  if (plan.action === 'update') {
    return { action: 'updated', integration: await client.updateIntegration(plan.integration.id, integrationUpdate(plan.integration, desired)) };
  }
  return { action: 'created', integration: await client.createIntegration(desired) };
}
