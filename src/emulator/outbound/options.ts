/**
 * Options of the emulator's Outbound Message sender. Salesforce's own numbers are documented in
 * sforce_api_om_outboundmessaging_notifications.htm and help `platform.workflow_om_considerations.htm`:
 * at most 100 notifications a message, retries at exponentially growing intervals up to 2 hours,
 * dropped after 24 hours, a 60-second timeout.
 */

export interface OutboundOptions {
  /** Where Outbound Messages are POSTed; empty or absent: the sender is off and changes queue nothing. @defaultValue '' */
  outboundUrl?: string;
  /** How long a triggering change waits so that later ones join the same message. @defaultValue 20 */
  outboundBatchMs?: number;
  /** Delay before the first retry of a failed message; each further retry doubles it. @defaultValue 1000 */
  outboundRetryBaseMs?: number;
  /** Longest delay between retries (Salesforce: 2 hours). @defaultValue 7200000 */
  outboundRetryMaxMs?: number;
  /** Age at which an undelivered notification is dropped (Salesforce: 24 hours). @defaultValue 86400000 */
  outboundMaxAgeMs?: number;
  /** How long one POST may take before it counts as failed (Salesforce: 60 seconds). @defaultValue 60000 */
  outboundTimeoutMs?: number;
  /** Messages in flight at once. @defaultValue 4 */
  outboundConcurrency?: number;
}

export type OutboundSettings = Required<OutboundOptions>;

export const OUTBOUND_DEFAULTS = {
  outboundUrl: '',
  outboundBatchMs: 20,
  // Salesforce does not document its first interval (a third-party page reports about 30 s); 1 s keeps
  // a local demo quick to recover when the receiver starts late. Pass 30000 for Salesforce's pace.
  outboundRetryBaseMs: 1000,
  outboundRetryMaxMs: 2 * 60 * 60_000,
  outboundMaxAgeMs: 24 * 60 * 60_000,
  outboundTimeoutMs: 60_000,
  outboundConcurrency: 4,
} as const satisfies OutboundSettings;

/** Salesforce's WSDL: `Notification maxOccurs="100"`. */
export const MAX_NOTIFICATIONS_PER_MESSAGE = 100;

/** Throws a RangeError naming the first invalid outbound setting. */
export function checkOutboundOptions(o: Partial<OutboundSettings>): void {
  const fail = (message: string): never => {
    throw new RangeError(message);
  };
  if (o.outboundUrl !== undefined && o.outboundUrl !== '') {
    let url: URL | undefined;
    try {
      url = new URL(o.outboundUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) fail(`outbound URL must be an http(s) URL, got ${o.outboundUrl}`);
  }
  const whole = (name: string, v: number | undefined, min: number) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min)) fail(`${name} must be a whole number ≥ ${min}, got ${v}`);
  };
  whole('outbound batch ms', o.outboundBatchMs, 0);
  whole('outbound retry base ms', o.outboundRetryBaseMs, 1);
  whole('outbound retry max ms', o.outboundRetryMaxMs, 1);
  whole('outbound max age ms', o.outboundMaxAgeMs, 1);
  whole('outbound timeout ms', o.outboundTimeoutMs, 1);
  whole('outbound concurrency', o.outboundConcurrency, 1);
}
