/**
 * Prometheus metrics (prom-client), one registry per process. Modules import the instruments they
 * update; `/metrics` serves the registry.
 */
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const outboundNotifications = new Counter({
  name: 'churn_outbound_notifications_total',
  help: 'Outbound message notifications by outcome: received, acked (enqueued), deduplicated.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const outboundRefusals = new Counter({
  name: 'churn_outbound_refusals_total',
  help: 'Outbound messages answered with a SOAP fault, by reason.',
  labelNames: ['reason'] as const,
  registers: [registry],
});
