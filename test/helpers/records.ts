/** Account records shaped like the prediction API and the worker receive them. */
export function sampleAccount(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Id: id,
    Gender__c: 'Female',
    Senior_Citizen__c: false,
    Has_Partner__c: true,
    Has_Dependents__c: false,
    Tenure_Months__c: 2,
    Phone_Service__c: true,
    Multiple_Lines__c: 'No',
    Internet_Service__c: 'Fiber optic',
    Online_Security__c: 'No',
    Online_Backup__c: 'No',
    Device_Protection__c: 'No',
    Tech_Support__c: 'No',
    Streaming_TV__c: 'Yes',
    Streaming_Movies__c: 'No',
    Contract_Type__c: 'Month-to-month',
    Paperless_Billing__c: true,
    Payment_Method__c: 'Electronic check',
    Monthly_Charges__c: 89.1,
    Total_Charges__c: 178.2,
    ...overrides,
  };
}
