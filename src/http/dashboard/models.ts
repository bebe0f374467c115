/**
 * The model registry on the admin dashboard, behind the same basic auth: `GET /admin/models` lists the
 * champion, the shadow and the other versions with their metrics and the promotion log;
 * `POST /admin/models` promotes, shadows, unshadows or rolls back, with a reason, recorded in the
 * promotion log as `admin:<user>`. Same-origin check and form token, as the failures form.
 */
import express, { Router, type Request, type Response } from 'express';
import { isAppError } from '../../core/errors.js';
import type { ModelRegistry, ModelVersionInfo, PromotionEntry } from '../../lifecycle/registry.js';
import { forRequest, type Logger } from '../../log/logger.js';
import { escapeHtml as e } from './chart.js';
import { csrfToken, isSameOrigin, parseBasic, requireAdmin, sameCsrfToken, type AdminCredentials, type SignInLimiter } from './auth.js';

export const MODELS_PATH = '/admin/models';
const ACTIONS = ['promote', 'shadow', 'unshadow', 'rollback'] as const;
type Action = (typeof ACTIONS)[number];

export interface ModelsPageOptions {
  admin?: AdminCredentials;
  /** Absent without DATABASE_URL: the page says the registry is off. */
  registry?: ModelRegistry;
  limiter?: SignInLimiter;
  logger: Logger;
}

const CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

function metric(m: ModelVersionInfo, key: string): string {
  const v = m.metrics?.[key];
  return typeof v === 'number' ? v.toFixed(4) : '—';
}

function renderPage(models: readonly ModelVersionInfo[], log: readonly PromotionEntry[], csrf: string, notice?: { ok: boolean; text: string }): string {
  const form = (action: Action, version?: string, label: string = action) =>
    `<form method="post" action="${MODELS_PATH}" class="act"><input type="hidden" name="csrf" value="${e(csrf)}"><input type="hidden" name="action" value="${action}">${version ? `<input type="hidden" name="version" value="${e(version)}">` : ''}<input name="reason" required maxlength="500" placeholder="why" aria-label="reason to ${label}${version ? ` ${e(version)}` : ''}"><button>${e(label)}</button></form>`;
  const rows = models
    .map((m) => {
      const actions = [
        m.status !== 'champion' ? form('promote', m.version) : '',
        m.status === 'candidate' || m.status === 'retired' ? form('shadow', m.version) : '',
        m.status === 'shadow' ? form('unshadow', undefined) : '',
      ].join('');
      return `<tr data-version="${e(m.version)}" data-status="${m.status}"><td class="status ${m.status}">${m.status}</td><td>${e(m.version)}</td><td>${e(m.source)}</td><td>${metric(m, 'auc')}</td><td>${metric(m, 'logloss')}</td><td>${metric(m, 'brier')}</td><td>${e(m.createdAt.toISOString())}</td><td>${actions}</td></tr>`;
    })
    .join('');
  const entries = log
    .map((l) => `<tr><td>${e(l.at.toISOString())}</td><td>${e(l.action)}</td><td>${e(l.version)}</td><td>${l.previous ? e(l.previous) : ''}</td><td>${e(l.actor)}</td><td>${e(l.reason)}</td></tr>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Churn models</title><style>
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#222}table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}
.champion{color:#2e8b57;font-weight:600}.shadow{color:#8e44ad;font-weight:600}.retired{color:#888}.act{display:inline-flex;gap:.3rem;margin:0 .4rem .2rem 0}.notice{padding:.5rem;background:#eef7ee}.error{background:#fbeaea}
</style></head><body><h1>Churn models</h1><p><a href="/admin">← status</a></p>
${notice ? `<p id="notice" class="notice${notice.ok ? '' : ' error'}">${e(notice.text)}</p>` : ''}
<h2>Versions</h2><table id="models"><tr><th>status</th><th>version</th><th>source</th><th>AUC</th><th>log loss</th><th>Brier</th><th>registered</th><th></th></tr>${rows}</table>
<p>${form('rollback', undefined, 'roll back to the previous champion')}</p>
<h2>Promotion log</h2><table id="log"><tr><th>when</th><th>action</th><th>version</th><th>replaced</th><th>who</th><th>why</th></tr>${entries}</table>
</body></html>`;
}

export function modelsRouter(options: ModelsPageOptions): Router {
  const router = Router();
  const { admin, registry, logger } = options;
  if (!admin) return router;
  router.use(MODELS_PATH, requireAdmin(admin, { limiter: options.limiter }));

  router.get(MODELS_PATH, async (req: Request, res: Response) => {
    res.set('cache-control', 'no-store').set('content-security-policy', CSP);
    if (!registry) {
      res.type('html').send('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Churn models</title></head><body><p id="registry-off">The model registry is off: set DATABASE_URL (PostgreSQL) and run bin/churn-worker db migrate.</p></body></html>');
      return;
    }
    const [models, log] = await Promise.all([registry.list(), registry.log(20)]);
    const notice = typeof req.query.done === 'string' ? { ok: true, text: req.query.done } : typeof req.query.error === 'string' ? { ok: false, text: req.query.error } : undefined;
    res.type('html').send(renderPage(models, log, csrfToken(admin), notice));
  });

  router.post(MODELS_PATH, express.urlencoded({ extended: false, limit: '16kb' }), async (req: Request, res: Response) => {
    const log = forRequest(logger, res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!isSameOrigin(req) || !sameCsrfToken(body.csrf, admin)) {
      log.warn('admin model action refused: cross-site request or missing form token');
      res.status(403).type('text/plain').send('Refused: the form must be sent from the admin page.');
      return;
    }
    const action = ACTIONS.find((a) => a === body.action);
    const version = typeof body.version === 'string' ? body.version.slice(0, 200) : undefined;
    const reason = typeof body.reason === 'string' ? body.reason.trim().slice(0, 500) : '';
    if (!registry || !action || !reason || ((action === 'promote' || action === 'shadow') && !version)) {
      res.status(400).type('text/plain').send(!registry ? 'The model registry is off (DATABASE_URL).' : 'Give an action (promote, shadow, unshadow, rollback), the version it needs, and a reason.');
      return;
    }
    const who = { actor: `admin:${parseBasic(req.get('authorization'))?.user ?? admin.user}`, reason };
    const back = (key: 'done' | 'error', text: string) => res.redirect(303, `${MODELS_PATH}?${key}=${encodeURIComponent(text)}`);
    try {
      if (action === 'promote') {
        const { previous } = await registry.promote(version!, who);
        back('done', previous === null ? `${version} is already the champion.` : `${version} is the champion (was ${previous}); every process switches within seconds.`);
      } else if (action === 'shadow') {
        await registry.shadow(version!, who);
        back('done', `${version} is the shadow.`);
      } else if (action === 'unshadow') {
        const was = await registry.unshadow(who);
        back('done', was ? `${was} is no longer the shadow.` : 'There was no shadow.');
      } else {
        const { from, to } = await registry.rollback(who);
        back('done', `Rolled back: ${to} is the champion again (was ${from}).`);
      }
      log.info({ action, version, actor: who.actor }, 'model registry changed from the admin page');
    } catch (error) {
      if (!isAppError(error)) throw error;
      log.warn({ action, version, code: error.code }, `admin model action refused: ${error.problem}`);
      back('error', error.message);
    }
  });
  return router;
}
