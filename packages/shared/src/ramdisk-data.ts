import { z } from 'zod';

/**
 * The body of `POST /v1/continue`: the seed ramdisk's flat keys and the
 * `inventory` form of ironic-python-agent. Unknown keys are kept (rules and
 * operators read them from the stored data); known keys are checked.
 */
export const MAX_INTERFACES = 256;
const MAX_DISKS = 1024;
const name = z.string().max(255);
const shortText = z.string().max(1024);
// A union that fails on every branch only says "Invalid input"; the ramdisk's author needs to
// read what was expected (1.5, "x", true, and 1e400, which JSON.parse makes Infinity).
const COUNT_EXPECTED = 'expected a whole number of at least 0, as a number or a string of digits';
const count = z.union(
  [
    z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    z
      .string()
      .regex(/^\d{1,15}$/, COUNT_EXPECTED)
      .transform(Number),
  ],
  { error: COUNT_EXPECTED },
);
const size = z.number().nonnegative().max(Number.MAX_SAFE_INTEGER);

const SeedInterface = z.looseObject({
  mac: shortText.nullish(),
  ip: shortText.nullish(),
});

const InventoryInterface = z.looseObject({
  name: name.nullish(),
  mac_address: shortText.nullish(),
  ipv4_address: shortText.nullish(),
  ipv6_address: shortText.nullish(),
  client_id: shortText.nullish(),
});

const Disk = z.looseObject({
  name: name.nullish(),
  size: size.nullish(),
  serial: shortText.nullish(),
});

const Inventory = z.looseObject({
  interfaces: z.array(InventoryInterface).max(MAX_INTERFACES).nullish(),
  cpu: z
    .looseObject({
      count: count.nullish(),
      architecture: name.nullish(),
      flags: z.array(shortText).max(4096).nullish(),
    })
    .nullish(),
  memory: z.looseObject({ physical_mb: count.nullish(), total: size.nullish() }).nullish(),
  disks: z.array(Disk).max(MAX_DISKS).nullish(),
  bmc_address: shortText.nullish(),
  bmc_v6address: shortText.nullish(),
});

export const RamdiskDataSchema = z.looseObject({
  cpus: count.nullish(),
  cpu_arch: name.nullish(),
  memory_mb: count.nullish(),
  local_gb: count.nullish(),
  interfaces: z
    .record(name, SeedInterface)
    .refine((r) => Object.keys(r).length <= MAX_INTERFACES, {
      message: `at most ${MAX_INTERFACES} interfaces`,
    })
    .nullish(),
  ipmi_address: shortText.nullish(),
  ipmi_v6address: shortText.nullish(),
  boot_interface: shortText.nullish(),
  error: z.string().max(65_536).nullish(),
  logs: z
    .string()
    .regex(/^[A-Za-z0-9+/=\s]*$/, 'expected base64')
    .nullish(),
  block_devices: z.looseObject({ serials: z.array(shortText).max(MAX_DISKS).nullish() }).nullish(),
  inventory: Inventory.nullish(),
  root_disk: Disk.nullish(),
});

export type RamdiskData = z.infer<typeof RamdiskDataSchema>;

export const InterfaceSchema = z.object({
  mac: z.string(),
  ip: z.string().nullable(),
  client_id: z.string().nullable().optional(),
  pxe: z.boolean().optional(),
});
export type Interface = z.infer<typeof InterfaceSchema>;

/** The one shape every hook reads, whatever form the ramdisk sent. */
export interface NormalizedData {
  cpus: number | null;
  cpu_arch: string | null;
  memory_mb: number | null;
  local_gb: number | null;
  interfaces: Record<string, Interface>;
  ipmi_address: string | null;
  ipmi_v6address: string | null;
  boot_interface: string | null;
  error: string | null;
  block_devices: { serials: string[] } | null;
}

const GIB = 2 ** 30;

/** Placeholders that ramdisks send when a BMC has no address (upstream bug 1714944). */
const NO_ADDRESS = new Set(['', '0.0.0.0', '::', '::/0']);
const address = (v: string | null | undefined): string | null => {
  const s = v?.trim();
  return s && !NO_ADDRESS.has(s) ? s : null;
};
const stripScope = (ip: string | null | undefined) => ip?.split('%')[0] || null;

/** Maps either form onto NormalizedData; the inventory wins where both speak. */
export function normalizeRamdiskData(data: RamdiskData): NormalizedData {
  const inv = data.inventory;
  if (!inv) {
    const interfaces = Object.fromEntries(
      Object.entries(data.interfaces ?? {}).map(([ifName, iface]): [string, Interface] => [
        ifName,
        { mac: iface.mac ?? '', ip: iface.ip || null },
      ]),
    );
    const serials = data.block_devices?.serials;
    return {
      cpus: data.cpus ?? null,
      cpu_arch: data.cpu_arch ?? null,
      memory_mb: data.memory_mb ?? null,
      local_gb: data.local_gb ?? null,
      interfaces,
      ipmi_address: address(data.ipmi_address),
      ipmi_v6address: address(data.ipmi_v6address),
      boot_interface: data.boot_interface ?? null,
      error: data.error || null,
      block_devices: serials ? { serials: [...serials] } : null,
    };
  }
  // Built from entries, never by assignment: a NIC the ramdisk names `__proto__` is an interface
  // like any other, not the object's prototype.
  const interfaces = Object.fromEntries(
    (inv.interfaces ?? [])
      .filter((iface) => !!iface.name)
      .map((iface): [string, Interface] => [
        iface.name!,
        {
          mac: iface.mac_address ?? '',
          ip: stripScope(iface.ipv4_address) ?? stripScope(iface.ipv6_address),
          client_id: iface.client_id ?? null,
        },
      ]),
  );
  const rootSize = data.root_disk?.size;
  const serials = (inv.disks ?? []).map((d) => d.serial).filter((s): s is string => !!s);
  return {
    cpus: inv.cpu?.count ?? null,
    cpu_arch: inv.cpu?.architecture ?? null,
    memory_mb: inv.memory?.physical_mb ?? null,
    // IPA reports the root disk in bytes; one GiB is left for partitioning, as upstream does.
    local_gb: rootSize ? Math.max(Math.floor(rootSize / GIB) - 1, 0) : 0,
    interfaces,
    ipmi_address: address(inv.bmc_address) ?? address(data.ipmi_address),
    ipmi_v6address: address(inv.bmc_v6address) ?? address(data.ipmi_v6address),
    boot_interface: data.boot_interface ?? null,
    error: data.error || null,
    block_devices: serials.length ? { serials } : null,
  };
}

/** Describes a zod failure as one line that names each offending field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`)
    .join('; ');
}
