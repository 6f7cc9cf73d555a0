import { BadRequest, type IronicNode } from '@inspector/shared';

export interface CredentialRequest {
  username: string;
  password: string;
}

/**
 * Checks a request to set new IPMI credentials through the ramdisk, in
 * upstream's order. Returns null when none is requested (no password given).
 */
export function checkCredentialRequest(
  node: IronicNode,
  query: { new_ipmi_username?: string | undefined; new_ipmi_password?: string | undefined },
  enabled: boolean,
): CredentialRequest | null {
  const password = query.new_ipmi_password;
  if (!password) return null;
  if (!enabled) throw new BadRequest('IPMI credentials setup is disabled in configuration');
  if (!node.maintenance) {
    throw new BadRequest('Node should be in maintenance mode to set IPMI credentials on it');
  }
  const current = node.driver_info?.ipmi_username;
  const username = query.new_ipmi_username || (typeof current === 'string' ? current : '');
  if (!username) {
    throw new BadRequest(
      `Setting IPMI credentials requested for node ${node.uuid}, but neither new user name nor driver_info[ipmi_username] are provided`,
    );
  }
  if (!/^[A-Za-z0-9_.@-]{1,16}$/.test(username)) {
    // The BMC takes the name as it is: one it cannot hold is refused here, whoever chose it.
    const which = query.new_ipmi_username
      ? 'New IPMI user name'
      : `The user name in driver_info[ipmi_username] of node ${node.uuid}, set on the BMC as no new one was given,`;
    throw new BadRequest(`${which} must be 1 to 16 characters: letters, digits and _.@- only`);
  }
  const bad = [...new Set(password.replace(/[A-Za-z0-9]/g, ''))].join('');
  if (bad) {
    throw new BadRequest(
      `Forbidden characters encountered in new IPMI password for node ${node.uuid}: "${bad}"; use only letters and numbers`,
    );
  }
  if (password.length > 20) throw new BadRequest('IPMI password length should be > 0 and <= 20');
  return { username, password };
}
