import { z } from 'zod';

/** The parts of an Ironic node this service reads; other fields pass through untouched. */
export const IronicNodeSchema = z.looseObject({
  uuid: z.string(),
  name: z.string().nullish(),
  provision_state: z.string().nullish(),
  power_state: z.string().nullish(),
  /** Set while a power action runs; cleared when it ends, with `last_error` if it failed. */
  target_power_state: z.string().nullish(),
  last_error: z.string().nullish(),
  maintenance: z.boolean().nullish(),
  driver: z.string().nullish(),
  driver_info: z.record(z.string(), z.unknown()).nullish(),
  properties: z.record(z.string(), z.unknown()).nullish(),
  extra: z.record(z.string(), z.unknown()).nullish(),
});
export type IronicNode = z.infer<typeof IronicNodeSchema>;

export const IronicPortSchema = z.looseObject({
  uuid: z.string(),
  address: z.string(),
  node_uuid: z.string().nullish(),
  pxe_enabled: z.boolean().nullish(),
});
export type IronicPort = z.infer<typeof IronicPortSchema>;

export const JsonPatchOpSchema = z.object({
  op: z.enum(['add', 'remove', 'replace']),
  path: z.string().startsWith('/'),
  value: z.unknown().optional(),
});
export type JsonPatchOp = z.infer<typeof JsonPatchOpSchema>;

export const ValidateResultSchema = z.looseObject({
  power: z.looseObject({ result: z.boolean().nullish(), reason: z.string().nullish() }).nullish(),
});

export type PowerTarget = 'power on' | 'power off' | 'rebooting';
