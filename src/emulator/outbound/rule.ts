/**
 * When a change sends the Churn_Account_Changed outbound message: the emulator's copy of what the
 * deployed Flow does, salesforce/force-app/main/default/flows/Churn_Account_Changed.flow-meta.xml:
 *
 *   entry formula   OR(ISNEW(), ISCHANGED({!$Record.<each churn input field>}))
 *   then decision   $Permission.Churn_Integration_User = true → end (no message)
 *   otherwise       send the outbound message
 *
 * The emulator's integration user stands for the holder of the Churn_Integration_User custom
 * permission (the worker's SF_USERNAME, through the Churn_Worker_Integration permission set). Records
 * are never created in the emulator, so ISNEW() does not apply. This is the loop prevention: the
 * worker's write-back changes only Churn_* outputs, as that user.
 * test/salesforce-metadata/flow-rule.test.ts reads the flow and fails when the two disagree.
 */
import { INPUT_FIELDS } from '../../core/account-fields.js';
import type { AccountChange } from '../store.js';

/** The fields whose change triggers the message: the model's inputs (role 'input'). */
export const WATCHED_FIELDS: ReadonlySet<string> = new Set(INPUT_FIELDS.map((f) => f.name));

/** The custom permission whose holders' changes the flow drops (its decision ends the flow). */
export const SKIPPED_PERMISSION = 'Churn_Integration_User';

export function firesOutboundMessage(change: Pick<AccountChange, 'userId' | 'changedFields'>, integrationUserId: string): boolean {
  return change.userId !== integrationUserId && change.changedFields.some((name) => WATCHED_FIELDS.has(name));
}
