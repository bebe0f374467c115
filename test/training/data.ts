/** Where the shared Telco training file lives (outside the repo, never copied in) and tiny CSVs. */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const TELCO_CSV = resolve(repoRoot, '../shared/datasets/telco-customer-churn.train.csv');
export const HAVE_TELCO = existsSync(TELCO_CSV);
export const REPO_ROOT = repoRoot;

if (!HAVE_TELCO) console.warn(`[churn tests] ${TELCO_CSV} is absent: tests on the Telco data are skipped.`);

export const HEADER =
  'customerID,gender,SeniorCitizen,Partner,Dependents,tenure,PhoneService,MultipleLines,InternetService,OnlineSecurity,OnlineBackup,DeviceProtection,TechSupport,StreamingTV,StreamingMovies,Contract,PaperlessBilling,PaymentMethod,MonthlyCharges,TotalCharges,Churn';

/** A row in the dataset's format; `churn` is the label column's text. */
export function row(id: string, tenure: string, contract: string, monthly: string, total: string, churn: string): string {
  return `${id},Female,0,Yes,No,${tenure},Yes,No,Fiber optic,No,No,No,No,Yes,Yes,${contract},Yes,Electronic check,${monthly},${total},${churn}`;
}
