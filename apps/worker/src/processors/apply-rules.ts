import {
  InspectorError,
  planActions,
  rulesThatApply,
  type IronicNode,
  type Logger,
  type Rule,
} from '@inspector/shared';
import type { WorkerContext } from '../context.ts';

/**
 * Runs the actions of the introspection rules that apply to this node and data, as upstream
 * does after its hooks: every rule is evaluated first, then the actions of those that apply, in
 * creation order. Their node changes go to Ironic as one update. A `fail` action ends the run in
 * error with its message, after the actions before it. Returns the node as Ironic then holds it.
 */
export async function applyRules(
  ctx: WorkerContext,
  node: IronicNode,
  document: unknown,
  rules: Rule[],
  log: Logger,
): Promise<IronicNode> {
  const applying = rulesThatApply(rules, document, node);
  if (!applying.length) return node;
  const plan = planActions(applying, document, node);
  let updated = node;
  if (plan.patch.length) {
    updated = await ctx.ironic.patchNode(node.uuid, plan.patch, {
      resetInterfaces: plan.resetInterfaces,
    });
  }
  for (const trait of plan.addTraits) await ctx.ironic.addTrait(node.uuid, trait);
  for (const trait of plan.removeTraits) await ctx.ironic.removeTrait(node.uuid, trait);
  log.info(
    { rules: applying.map((r) => r.uuid), patched: plan.patch.map((op) => op.path) },
    'introspection rules applied',
  );
  if (plan.fail !== null) throw new InspectorError(plan.fail);
  return updated;
}
