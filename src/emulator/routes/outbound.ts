/**
 * Admin routes for the outbound message queue, the emulator's Setup → Outbound Messages:
 *
 *   GET  /__admin/outbound                    stats, settings, and the failing notifications (?limit=, default 100)
 *   GET  /__admin/outbound/notifications/:id  one notification's delivery status (404 once forgotten or unknown)
 *   POST /__admin/outbound/flush              {wait?, timeoutMs?}: send what is waiting now; with wait, answer
 *                                             once nothing is queued or in flight (504 after timeoutMs, default 10 s)
 *   PUT  /__admin/outbound                    {url?, paused?, batchMs?, retryBaseMs?, retryMaxMs?, maxAgeMs?,
 *                                             timeoutMs?, concurrency?}: change settings at run time
 */
import type { Request } from 'express';
import type { RouteModule } from '../http/context.js';
import type { OutboundConfig } from '../outbound/sender.js';

function body(req: Request): Record<string, unknown> {
  return typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {};
}

export const registerOutbound: RouteModule = ({ admin, state }) => {
  const outbound = state.outbound;
  const summary = (limit = 100) => ({ ...outbound.stats(), actionId: outbound.actionId, settings: outbound.config(), failing: outbound.failing(limit) });

  admin.get('/outbound', (req, res) => {
    const limit = Math.min(10_000, Math.max(0, Number(req.query.limit ?? 100) || 0));
    res.json(summary(limit));
  });

  admin.get('/outbound/notifications/:id', (req, res) => {
    const status = outbound.notification(req.params.id);
    if (!status) return void res.status(404).json({ error: `no notification ${req.params.id} (unknown, or delivered long ago and forgotten)` });
    res.json(status);
  });

  admin.post('/outbound/flush', async (req, res) => {
    const b = body(req);
    outbound.flush();
    if (b.wait !== true) return void res.json(summary());
    const timeoutMs = b.timeoutMs === undefined ? 10_000 : Number(b.timeoutMs);
    if (!(Number.isFinite(timeoutMs) && timeoutMs >= 0)) return void res.status(400).json({ error: 'timeoutMs must be a number of milliseconds' });
    try {
      await outbound.idle(timeoutMs);
      res.json(summary());
    } catch (error) {
      res.status(504).json({ error: (error as Error).message, ...summary() });
    }
  });

  admin.put('/outbound', (req, res) => {
    const b = body(req);
    const config: OutboundConfig = {};
    if ('url' in b) {
      if (b.url !== null && typeof b.url !== 'string') return void res.status(400).json({ error: 'url must be a string or null' });
      config.url = b.url;
    }
    if (b.paused !== undefined) {
      if (typeof b.paused !== 'boolean') return void res.status(400).json({ error: 'paused must be a boolean' });
      config.paused = b.paused;
    }
    for (const key of ['batchMs', 'retryBaseMs', 'retryMaxMs', 'maxAgeMs', 'timeoutMs', 'concurrency'] as const) {
      if (b[key] !== undefined) config[key] = Number(b[key]);
    }
    try {
      outbound.configure(config);
    } catch (error) {
      if (error instanceof RangeError) return void res.status(400).json({ error: error.message });
      throw error;
    }
    res.json(summary());
  });
};
