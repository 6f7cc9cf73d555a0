import {
  InspectorError,
  planActions,
  rulesThatApply,
  type IronicNode,
  type Rule,
  type State,
} from '@inspector/shared';
import type { WorkerContext } from '../context.ts';
import { assertRunStillIn, type NodeJobScope } from '../node-job.ts';
import { startOverOnLostAnswer } from '../start-over.ts';

/**
 * Runs the actions of the introspection rules that apply to this node and data, as upstream
 * does after its hooks: every rule is evaluated first, against the whole node, then the actions
 * of those that apply, in creation order. Their node changes go to Ironic as one update; a
 * `fail` action ends the run in error with its message, after the actions before it.
 *
 * The plan is made once per job (RuleStore.planOnce) and sent as it is: every op is an `add` of
 * a whole value and traits are set, not toggled, so sending it again after a lost answer, or in
 * a retry of the job, changes nothing more. Returns the node as Ironic then holds it.
 */
export async function applyRules(
  ctx: WorkerContext,
  scope: NodeJobScope,
  ownStates: readonly State[],
  node: IronicNode,
  document: unknown,
  rules: Rule[],
): Promise<IronicNode> {
  const { job, jobId, log } = scope;
  const plan = await ctx.rules.planOnce(jobId, async () => {
    const whole = await ctx.ironic.getNode(job.node, { allFields: true });
    return planActions(rulesThatApply(rules, document, whole), document, whole);
  });
  let updated = node;
  if (plan.patch.length) {
    // Checked every time: planning read the whole node, which a slow Ironic makes outlast a run.
    updated = await startOverOnLostAnswer(ctx, log, async () => {
      await assertRunStillIn(ctx, job, ownStates);
      return ctx.ironic.patchNode(job.node, plan.patch, { resetInterfaces: plan.resetInterfaces });
    });
  }
  for (const trait of plan.addTraits) await ctx.ironic.addTrait(job.node, trait);
  for (const trait of plan.removeTraits) await ctx.ironic.removeTrait(job.node, trait);
  if (plan.patch.length || plan.addTraits.length || plan.removeTraits.length) {
    log.info(
      {
        patched: plan.patch.map((op) => op.path),
        addTraits: plan.addTraits,
        removeTraits: plan.removeTraits,
      },
      'introspection rules applied',
    );
  }
  if (plan.fail !== null) throw new InspectorError(plan.fail);
  return updated;
}
