const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Lower-cased MAC, or null when the value is not a 6-byte colon-separated MAC. */
export function normalizeMac(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const mac = value.trim().toLowerCase();
  return MAC_RE.test(mac) ? mac : null;
}

/**
 * The PXE MAC from `boot_interface`: a plain MAC, or PXELinux's BOOTIF form
 * `01-aa-bb-cc-dd-ee-ff` whose first field is the ARP hardware type.
 */
export function parseBootInterface(value: string | null | undefined): string | null {
  if (!value) return null;
  const raw = value.trim();
  if (raw.includes('-')) {
    const rest = raw.slice(raw.indexOf('-') + 1);
    return normalizeMac(rest.replaceAll('-', ':'));
  }
  return normalizeMac(raw);
}
