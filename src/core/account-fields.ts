/**
 * The Account fields this project reads and writes: the one list the emulator, the feature spec,
 * the trainer, the write-back and the salesforce/ metadata all agree with.
 *
 * Feature and label fields mirror the columns of IBM's Telco Customer Churn sample
 * (`csvColumn`), so a model trained on that file scores Accounts without a mapping step.
 */

export type FieldType = 'id' | 'text' | 'checkbox' | 'number' | 'currency' | 'percent' | 'picklist' | 'datetime';
export type FieldRole = 'key' | 'input' | 'label' | 'output';

export interface AccountField {
  readonly name: string;
  readonly label: string;
  readonly type: FieldType;
  readonly role: FieldRole;
  /** Column of the Telco Customer Churn CSV this field mirrors. */
  readonly csvColumn?: string;
  /** Restricted picklist values, in display order. */
  readonly values?: readonly string[];
  /** Text length. */
  readonly length?: number;
  /** Number precision (total digits) and scale (decimals). */
  readonly precision?: number;
  readonly scale?: number;
  readonly externalId?: boolean;
}

const YES_NO_NO_INTERNET = ['Yes', 'No', 'No internet service'] as const;

export const ACCOUNT_FIELDS: readonly AccountField[] = Object.freeze([
  { name: 'Customer_Id__c', label: 'Customer ID', type: 'text', role: 'key', csvColumn: 'customerID', length: 40, externalId: true },
  { name: 'Gender__c', label: 'Gender', type: 'picklist', role: 'input', csvColumn: 'gender', values: ['Female', 'Male'] },
  { name: 'Senior_Citizen__c', label: 'Senior Citizen', type: 'checkbox', role: 'input', csvColumn: 'SeniorCitizen' },
  { name: 'Has_Partner__c', label: 'Has Partner', type: 'checkbox', role: 'input', csvColumn: 'Partner' },
  { name: 'Has_Dependents__c', label: 'Has Dependents', type: 'checkbox', role: 'input', csvColumn: 'Dependents' },
  { name: 'Tenure_Months__c', label: 'Tenure (Months)', type: 'number', role: 'input', csvColumn: 'tenure', precision: 4, scale: 0 },
  { name: 'Phone_Service__c', label: 'Phone Service', type: 'checkbox', role: 'input', csvColumn: 'PhoneService' },
  { name: 'Multiple_Lines__c', label: 'Multiple Lines', type: 'picklist', role: 'input', csvColumn: 'MultipleLines', values: ['Yes', 'No', 'No phone service'] },
  { name: 'Internet_Service__c', label: 'Internet Service', type: 'picklist', role: 'input', csvColumn: 'InternetService', values: ['DSL', 'Fiber optic', 'No'] },
  { name: 'Online_Security__c', label: 'Online Security', type: 'picklist', role: 'input', csvColumn: 'OnlineSecurity', values: YES_NO_NO_INTERNET },
  { name: 'Online_Backup__c', label: 'Online Backup', type: 'picklist', role: 'input', csvColumn: 'OnlineBackup', values: YES_NO_NO_INTERNET },
  { name: 'Device_Protection__c', label: 'Device Protection', type: 'picklist', role: 'input', csvColumn: 'DeviceProtection', values: YES_NO_NO_INTERNET },
  { name: 'Tech_Support__c', label: 'Tech Support', type: 'picklist', role: 'input', csvColumn: 'TechSupport', values: YES_NO_NO_INTERNET },
  { name: 'Streaming_TV__c', label: 'Streaming TV', type: 'picklist', role: 'input', csvColumn: 'StreamingTV', values: YES_NO_NO_INTERNET },
  { name: 'Streaming_Movies__c', label: 'Streaming Movies', type: 'picklist', role: 'input', csvColumn: 'StreamingMovies', values: YES_NO_NO_INTERNET },
  { name: 'Contract_Type__c', label: 'Contract Type', type: 'picklist', role: 'input', csvColumn: 'Contract', values: ['Month-to-month', 'One year', 'Two year'] },
  { name: 'Paperless_Billing__c', label: 'Paperless Billing', type: 'checkbox', role: 'input', csvColumn: 'PaperlessBilling' },
  {
    name: 'Payment_Method__c', label: 'Payment Method', type: 'picklist', role: 'input', csvColumn: 'PaymentMethod',
    values: ['Electronic check', 'Mailed check', 'Bank transfer (automatic)', 'Credit card (automatic)'],
  },
  { name: 'Monthly_Charges__c', label: 'Monthly Charges', type: 'currency', role: 'input', csvColumn: 'MonthlyCharges', precision: 16, scale: 2 },
  { name: 'Total_Charges__c', label: 'Total Charges', type: 'currency', role: 'input', csvColumn: 'TotalCharges', precision: 16, scale: 2 },
  { name: 'Churned__c', label: 'Churned', type: 'checkbox', role: 'label', csvColumn: 'Churn' },
  { name: 'Churn_Score__c', label: 'Churn Score', type: 'percent', role: 'output', precision: 5, scale: 2 },
  { name: 'Churn_Risk__c', label: 'Churn Risk', type: 'picklist', role: 'output', values: ['High', 'Medium', 'Low'] },
  { name: 'Churn_Top_Factors__c', label: 'Churn Top Factors', type: 'text', role: 'output', length: 255 },
  { name: 'Churn_Model_Version__c', label: 'Churn Model Version', type: 'text', role: 'output', length: 40 },
  { name: 'Churn_Scored_At__c', label: 'Churn Scored At', type: 'datetime', role: 'output' },
] satisfies AccountField[]);

export const INPUT_FIELDS = ACCOUNT_FIELDS.filter((f) => f.role === 'input');
export const LABEL_FIELD = ACCOUNT_FIELDS.find((f) => f.role === 'label')!;

/** Output field names, by purpose, so write-back code does not spell them twice. */
export const OUTPUT = Object.freeze({
  score: 'Churn_Score__c',
  risk: 'Churn_Risk__c',
  factors: 'Churn_Top_Factors__c',
  modelVersion: 'Churn_Model_Version__c',
  scoredAt: 'Churn_Scored_At__c',
} as const);
