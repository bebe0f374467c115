/**
 * Who may post outbound messages, decided from the request line and the connection alone, before a
 * byte of the body is read: a refused message costs no parsing, no Redis and no Salesforce call.
 *
 * - **Shared secret.** Salesforce's outbound messages carry no credential of their own and the org id
 *   in them is not a secret, so the endpoint URL carries one: `…/salesforce/outbound/account?token=<OUTBOUND_SECRET>`.
 *   It is compared in constant time (SHA-256 digests, timingSafeEqual). The query string is never
 *   logged by this app (the access log writes the path only).
 * - **Source networks** (optional). Salesforce publishes the IP ranges its servers send from
 *   (help.salesforce.com knowledge article 000321501); the API guide's security considerations
 *   suggest accepting only those, while noting they do not tell one customer's org from another's.
 *   The client address is Express's `req.ip`, which honours `X-Forwarded-For` only as far as
 *   `trust proxy` (TRUST_PROXY) says: behind Heroku's router that is one hop, the address the router
 *   itself appended; anything a client wrote into the header before it is ignored.
 * https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_security.htm
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIPv4 } from 'node:net';
import type { Request } from 'express';

export interface SenderPolicy {
  /** The `token` the endpoint URL must carry; undefined: not checked (never in production). */
  secret?: string;
  /** CIDR networks (IPv4 or IPv6); empty: any address. */
  allowedNetworks: readonly string[];
}

export type SenderVerdict = { ok: true } | { ok: false; status: number; reason: string; message: string };

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** An IPv4 address written as IPv6 (`::ffff:10.1.2.3`, what a dual-stack socket reports) as plain IPv4. */
function plainAddress(ip: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return { address: mapped[1]!, family: 'ipv4' };
  return { address: ip, family: isIPv4(ip) ? 'ipv4' : 'ipv6' };
}

export function senderCheck(policy: SenderPolicy): (req: Request) => SenderVerdict {
  const expected = policy.secret === undefined ? undefined : digest(policy.secret);
  let networks: BlockList | undefined;
  if (policy.allowedNetworks.length > 0) {
    networks = new BlockList();
    for (const cidr of policy.allowedNetworks) {
      const [address, bits] = cidr.split('/') as [string, string | undefined];
      const family = isIPv4(address) ? 'ipv4' : 'ipv6';
      networks.addSubnet(address, bits === undefined ? (family === 'ipv4' ? 32 : 128) : Number(bits), family);
    }
  }
  return (req) => {
    if (networks) {
      const ip = req.ip ?? req.socket.remoteAddress ?? '';
      const { address, family } = plainAddress(ip);
      let allowed: boolean;
      try {
        allowed = address !== '' && networks.check(address, family);
      } catch {
        allowed = false;
      }
      if (!allowed) {
        return { ok: false, status: 403, reason: 'network-not-allowed', message: 'This address may not post outbound messages (OUTBOUND_ALLOWED_NETWORKS).' };
      }
    }
    if (expected) {
      const token = req.query.token;
      // Hash whatever came (or nothing) so every refusal takes the same time.
      const given = digest(typeof token === 'string' ? token : '');
      if (typeof token !== 'string' || !timingSafeEqual(given, expected)) {
        return {
          ok: false,
          status: 401,
          reason: 'unauthenticated',
          message: 'The endpoint URL has no valid token: set the outbound message\'s endpoint URL to this receiver\'s URL with ?token=<OUTBOUND_SECRET> (docs/salesforce-setup.md).',
        };
      }
    }
    return { ok: true };
  };
}
