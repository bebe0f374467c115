/**
 * When a change sends the Churn_Account_Changed outbound message: the emulator's copy of the entry
 * formula of the deployed Flow,
 * salesforce/force-app/main/default/flows/Churn_Account_Changed.flow-meta.xml:
 *
 *   AND(NOT($Permission.Churn_Integration_User), OR(ISNEW(), ISCHANGED(<each churn input field>)))
 *
 * The emulator's integration user stands for the holder of the Churn_Integration_User permission
 * (the worker's SF_USERNAME). Records are never created in the emulator, so ISNEW() does not apply.
 * This is the loop prevention: the worker's write-back changes only Churn_* outputs, as that user.
 */
import { INPUT_FIELDS } from '../../core/account-fields.js';
import type { AccountChange } from '../store.js';

/** The fields whose change triggers the message: the model's inputs (role 'input'). */
export const WATCHED_FIELDS: ReadonlySet<string> = new Set(INPUT_FIELDS.map((f) => f.name));

export function firesOutboundMessage(change: Pick<AccountChange, 'userId' | 'changedFields'>, integrationUserId: string): boolean {
  return change.userId !== integrationUserId && change.changedFields.some((name) => WATCHED_FIELDS.has(name));
}
