import {
  ironicNotFound,
  parseNodeIdent,
  type IronicClient,
  type IronicNode,
} from '@inspector/shared';

/** Fetches a node from Ironic by UUID or name; 404 when Ironic does not know it. */
export async function fetchNode(ironic: IronicClient, ident: string): Promise<IronicNode> {
  const parsed = parseNodeIdent(ident);
  const key = 'uuid' in parsed ? parsed.uuid : parsed.name;
  return ironic.getNode(key).catch((err: unknown) => ironicNotFound(ident, err));
}

/** The UUID behind an identifier; a name costs one Ironic call, a UUID none. */
export async function resolveUuid(ironic: IronicClient, ident: string): Promise<string> {
  const parsed = parseNodeIdent(ident);
  if ('uuid' in parsed) return parsed.uuid;
  return (await fetchNode(ironic, ident)).uuid;
}
