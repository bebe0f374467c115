/**
 * The test-only admin API under /__admin (JSON, no auth; the emulator listens on 127.0.0.1 by
 * default). Changes made here go through the same write path and change events as API writes.
 */
import type { Request, Response } from 'express';
import type { RouteModule } from '../http/context.js';
import { apiValue } from '../render.js';
import type { EmulatorState } from '../state.js';
import { RequestError, updateAccounts, type RecordInput } from '../writes.js';
import { EMULATED_FIELDS, findField } from '../schema.js';

function bad(res: Response, message: string, status = 400): void {
  res.status(status).json({ error: message });
}

function rowOf(state: EmulatorState, id: string, res: Response): number | undefined {
  const found = state.store.locate(id);
  if (found.kind !== 'found') {
    bad(res, `no Account ${id}`, 404);
    return undefined;
  }
  return found.row;
}

function body(req: Request): Record<string, unknown> {
  return typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {};
}

export const registerAdmin: RouteModule = ({ admin, state }) => {
  admin.get('/org', (_req, res) => {
    res.json({
      orgId: state.orgId,
      baseUrl: state.baseUrl,
      consumerKey: state.consumerKey,
      audiences: [...state.audiences],
      permittedUsers: state.permittedUsers,
      apiVersion: state.options.latestApiVersion,
      users: [...state.users.values()],
      accounts: { size: state.store.size, live: state.store.count },
    });
  });

  /** Ids of the first `limit` Accounts from `offset` (deleted ones included), to pick test records. */
  admin.get('/accounts', (req, res) => {
    const offset = Math.max(0, Number(req.query.offset ?? 0) || 0);
    const limit = Math.min(10_000, Math.max(0, Number(req.query.limit ?? 100) || 0));
    const ids = [];
    for (let row = offset; row < Math.min(state.store.size, offset + limit); row++) ids.push(state.store.idOf(row));
    res.json({ size: state.store.size, ids });
  });

  admin.get('/accounts/:id', (req, res) => {
    const row = rowOf(state, req.params.id, res);
    if (row === undefined) return;
    const fields: Record<string, unknown> = {};
    for (const field of EMULATED_FIELDS) fields[field.name] = apiValue(field, state.store.get(row, field));
    const modifiedBy = state.store.get(row, findField('LastModifiedById')!);
    res.json({
      id: state.store.idOf(row),
      deleted: state.store.isDeleted(row),
      lastModifiedBy: [...state.users.values()].find((u) => u.id === modifiedBy) ?? { id: modifiedBy },
      validationRule: state.validationRules.get(row) ?? null,
      fields,
    });
  });

  /** Body: {records:[{id, Field: value…}], as?: username (default the admin user), allOrNone?}. */
  admin.patch('/accounts', (req, res) => {
    const b = body(req);
    const username = typeof b.as === 'string' ? b.as : state.adminUser.username;
    const user = state.userByName(username);
    if (!user) return bad(res, `unknown user ${username}`);
    if (!Array.isArray(b.records)) return bad(res, 'records must be an array');
    try {
      res.json(updateAccounts(state, b.records as RecordInput[], { allOrNone: b.allOrNone === true, user }));
    } catch (error) {
      if (error instanceof RequestError) return bad(res, `${error.errorCode}: ${error.message}`);
      throw error;
    }
  });

  admin.delete('/accounts/:id', (req, res) => {
    const row = rowOf(state, req.params.id, res);
    if (row === undefined) return;
    res.json({ deleted: state.store.delete(row, state.adminUser, state.now()) });
  });

  /** Body: {ids:[…], message?, fields?}: updates to these records fail FIELD_CUSTOM_VALIDATION_EXCEPTION. */
  admin.put('/validation-rules', (req, res) => {
    const b = body(req);
    if (!Array.isArray(b.ids)) return bad(res, 'ids must be an array');
    const message = typeof b.message === 'string' ? b.message : 'Churn fields cannot be changed while the account is under review.';
    const fields = Array.isArray(b.fields) ? b.fields.map(String) : [];
    let armed = 0;
    for (const id of b.ids) {
      const found = state.store.locate(id);
      if (found.kind !== 'found') return bad(res, `no Account ${String(id)}`, 404);
      state.validationRules.set(found.row, { message, fields });
      armed++;
    }
    res.json({ armed });
  });

  admin.delete('/validation-rules', (_req, res) => {
    const cleared = state.validationRules.size;
    state.validationRules.clear();
    res.json({ cleared });
  });

  admin.get('/faults', (_req, res) => {
    res.json(state.faults.settings());
  });

  /** Body: any of {failRate, lockRate, latencyMs}; restarts the seeded fault stream. */
  admin.put('/faults', (req, res) => {
    const b = body(req);
    try {
      state.faults.set({
        failRate: b.failRate === undefined ? undefined : Number(b.failRate),
        lockRate: b.lockRate === undefined ? undefined : Number(b.lockRate),
        latencyMs: b.latencyMs === undefined ? undefined : Number(b.latencyMs),
      });
    } catch (error) {
      return bad(res, (error as Error).message);
    }
    res.json(state.faults.settings());
  });

  admin.delete('/describe/fields/:name', (req, res) => {
    const field = findField(req.params.name);
    if (!field || field.name === 'Id') return bad(res, `no removable field ${req.params.name}`, 404);
    state.removedFields.add(field.name);
    res.json({ removed: [...state.removedFields] });
  });

  admin.put('/describe/fields/:name', (req, res) => {
    const field = findField(req.params.name);
    if (!field) return bad(res, `no field ${req.params.name}`, 404);
    state.removedFields.delete(field.name);
    res.json({ removed: [...state.removedFields] });
  });

  admin.get('/counters', (_req, res) => {
    res.json({ ...state.counters.snapshot(), apiUsage: { used: state.limits.apiUsed, max: state.limits.apiMax } });
  });

  /** Body: {apiUsage?: true} also resets the day's API usage. */
  admin.post('/counters/reset', (req, res) => {
    state.counters.reset();
    if (body(req).apiUsage === true) state.limits.apiUsed = 0;
    res.json({ ...state.counters.snapshot(), apiUsage: { used: state.limits.apiUsed, max: state.limits.apiMax } });
  });

  /** Body: {apiLimit?, apiUsed?, bulkApiBatchesMax?, bulkApiBatchesUsed?, bulkV2QueryJobsMax?, bulkV2QueryJobsUsed?}. */
  admin.put('/limits', (req, res) => {
    const b = body(req);
    const keys = ['apiLimit', 'apiUsed', 'bulkApiBatchesMax', 'bulkApiBatchesUsed', 'bulkV2QueryJobsMax', 'bulkV2QueryJobsUsed'] as const;
    for (const key of keys) {
      if (b[key] !== undefined && !(Number.isInteger(b[key]) && (b[key] as number) >= 0)) return bad(res, `${key} must be a whole number`);
    }
    const l = state.limits;
    if (b.apiLimit !== undefined) l.apiMax = b.apiLimit as number;
    if (b.apiUsed !== undefined) l.apiUsed = b.apiUsed as number;
    for (const key of keys.slice(2)) if (b[key] !== undefined) l[key as 'bulkApiBatchesMax'] = b[key] as number;
    res.json({ used: l.apiUsed, max: l.apiMax, bulkApiBatches: { used: l.bulkApiBatchesUsed, max: l.bulkApiBatchesMax }, bulkV2QueryJobs: { used: l.bulkV2QueryJobsUsed, max: l.bulkV2QueryJobsMax } });
  });

  admin.post('/tokens/expire', (_req, res) => {
    res.json({ expired: state.tokens.expireAll() });
  });

  /**
   * Body: any of {approved: boolean, permissions: {ApiEnabled?, ViewSetup?, AccountRead?,
   * AccountEdit?}}: whether the user may use the app (pre-authorized / self-approved), and which of
   * the permissions the worker's calls need it holds.
   */
  admin.put('/users/:username', (req, res) => {
    const user = state.userByName(req.params.username);
    if (!user) return bad(res, `unknown user ${req.params.username}`, 404);
    const b = body(req);
    if (b.approved !== undefined && typeof b.approved !== 'boolean') return bad(res, 'approved must be a boolean');
    const permissions = (b.permissions ?? {}) as Record<string, unknown>;
    if (typeof permissions !== 'object' || permissions === null) return bad(res, 'permissions must be an object');
    for (const [name, value] of Object.entries(permissions)) {
      if (!(name in user.permissions)) return bad(res, `unknown permission ${name} (known: ${Object.keys(user.permissions).join(', ')})`);
      if (typeof value !== 'boolean') return bad(res, `permission ${name} must be a boolean`);
    }
    if (typeof b.approved === 'boolean') user.approved = b.approved;
    Object.assign(user.permissions, permissions);
    res.json(user);
  });

  /** Body: {permittedUsers: 'AdminApprovedPreAuthorized' | 'AllSelfAuthorize'}: the app's OAuth policy. */
  admin.put('/app', (req, res) => {
    const permittedUsers = body(req).permittedUsers;
    if (permittedUsers !== 'AdminApprovedPreAuthorized' && permittedUsers !== 'AllSelfAuthorize') {
      return bad(res, 'permittedUsers must be AdminApprovedPreAuthorized or AllSelfAuthorize');
    }
    state.permittedUsers = permittedUsers;
    res.json({ permittedUsers });
  });
};
