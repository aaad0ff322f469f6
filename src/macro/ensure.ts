// What `macro create` does, without the printing: shared with `simulate`.
import type { GorgiasClient } from '../gorgias/client.js';
import type { Macro, NewMacro } from '../gorgias/types.js';
import { carriesToken, macroUpdate } from './signoff.js';

export type SignoffPlan =
  | { action: 'create'; ours: Macro[] }
  | { action: 'unchanged'; macro: Macro; ours: Macro[] }
  | { action: 'differs'; macro: Macro; ours: Macro[] } // exists, differs, no --update
  | { action: 'update'; macro: Macro; patch: NewMacro; ours: Macro[] };

/** Pure: finding ours goes by the token in its actions, never by name alone. */
export function planSignoffMacro(macros: Macro[], desired: NewMacro, update: boolean): SignoffPlan {
  const ours = macros.filter(carriesToken);
  const existing = ours[0];
  if (!existing) return { action: 'create', ours };
  const patch = macroUpdate(existing, desired);
  if (!patch) return { action: 'unchanged', macro: existing, ours };
  return update ? { action: 'update', macro: existing, patch, ours } : { action: 'differs', macro: existing, ours };
}

export async function applySignoffPlan(
  client: Pick<GorgiasClient, 'createMacro' | 'updateMacro'>,
  plan: SignoffPlan,
  desired: NewMacro,
): Promise<Macro> {
  if (plan.action === 'create') return client.createMacro(desired);
  if (plan.action === 'update') return client.updateMacro(plan.macro.id, plan.patch);
  return plan.macro;
}
