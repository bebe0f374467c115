/**
 * Synthetic Accounts shaped like IBM's Telco Customer Churn sample, drawn from a seeded generator:
 * each row has its own random stream (seed, row), so record N is the same whatever the count.
 *
 * Joint structure kept from the sample: contract type drives tenure; customers without internet
 * have "No internet service" in the six add-on picklists, customers without phone service have
 * "No phone service" in Multiple_Lines__c; MonthlyCharges is built from the services taken and
 * TotalCharges ≈ tenure × MonthlyCharges with noise (null when tenure is 0, as in the sample).
 * Churned__c is drawn from a logistic model of those fields (month-to-month, fiber, electronic
 * check, short tenure raise the odds), tuned to about 26% positives like the sample.
 */
import { hash32, Rng } from '../random.js';
import { findField } from '../schema.js';
import type { AccountStore } from '../store.js';

const NAME_FIRST = ['Acme', 'Blue', 'North', 'Summit', 'Pioneer', 'Harbor', 'Cedar', 'Granite', 'Silver', 'Evergreen', 'Atlas', 'Beacon', 'Crescent', 'Delta', 'Falcon', 'Golden', 'Horizon', 'Iron', 'Juniper', 'Keystone', 'Lakeside', 'Maple', 'Nova', 'Orchid', 'Prairie', 'Quartz', 'Redwood', 'Sterling', 'Tidewater', 'Union', 'Valley', 'Willow'];
const NAME_SECOND = ['Logistics', 'Foods', 'Dental', 'Motors', 'Bakery', 'Consulting', 'Florists', 'Hardware', 'Pharmacy', 'Printing', 'Realty', 'Studios', 'Textiles', 'Veterinary', 'Analytics', 'Builders', 'Catering', 'Design', 'Electric', 'Fitness'];
const NAME_SUFFIX = ['Inc', 'LLC', 'Ltd', 'Co', 'Group', 'Partners', '& Sons', 'Holdings'];

/** Digits-and-letters space of the sample's customer ids, e.g. `7590-VHVEG`. */
const CUSTOMER_ID_SPACE = 10_000 * 26 ** 5;
const CUSTOMER_ID_STEP = 1_000_003; // prime, coprime with the space: row → id is one-to-one

export function accountName(seed: number, row: number): string {
  const h = hash32(seed ^ 0x5bd1e995, row);
  return `${NAME_FIRST[h % NAME_FIRST.length]} ${NAME_SECOND[(h >>> 8) % NAME_SECOND.length]} ${NAME_SUFFIX[(h >>> 16) % NAME_SUFFIX.length]}`;
}

export function customerId(seed: number, row: number): string {
  const v = (row * CUSTOMER_ID_STEP + (hash32(seed, 0xc0ffee) % CUSTOMER_ID_SPACE)) % CUSTOMER_ID_SPACE;
  let letters = Math.floor(v / 10_000);
  let suffix = '';
  for (let i = 0; i < 5; i++) {
    suffix = String.fromCharCode(65 + (letters % 26)) + suffix;
    letters = Math.floor(letters / 26);
  }
  return `${String(v % 10_000).padStart(4, '0')}-${suffix}`;
}

/** Logistic-model intercept, tuned so about 26% of generated accounts have churned. */
const CHURN_INTERCEPT = -1.17;

/**
 * A population that has moved since the sample (the model's training data): at `drift` 1 the
 * contract mix leans to month-to-month (55/21/24 % → 80/11/9 %), tenures are shorter (month-to-month
 * 17 → 8.5 months on average, one-year 42 → 30, two-year 58 → 44) and the churn odds are twice as
 * high (intercept +0.7); the other fields are drawn as before, except what depends on the contract
 * and the tenure (payment method, total charges). In between, every shift is that fraction of it, so
 * raising `drift` day by day plays a population drifting over time.
 */
export const DRIFT_AT_FULL = {
  contractMix: [0.25, -0.1, -0.15],
  monthToMonthTenureScale: -0.5,
  oneYearTenureMean: -12,
  twoYearTenureMean: -14,
  churnIntercept: 0.7,
} as const;

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Column handles resolved once so the per-row loop is plain typed-array writes. */
function columns(store: AccountStore) {
  const codes = (name: string) => store.codes(name);
  const nums = (name: string) => store.numbers(name);
  return {
    gender: codes('Gender__c'),
    senior: codes('Senior_Citizen__c'),
    partner: codes('Has_Partner__c'),
    dependents: codes('Has_Dependents__c'),
    tenure: nums('Tenure_Months__c'),
    phone: codes('Phone_Service__c'),
    multipleLines: codes('Multiple_Lines__c'),
    internet: codes('Internet_Service__c'),
    addOns: ['Online_Security__c', 'Online_Backup__c', 'Device_Protection__c', 'Tech_Support__c', 'Streaming_TV__c', 'Streaming_Movies__c'].map(codes),
    contract: codes('Contract_Type__c'),
    paperless: codes('Paperless_Billing__c'),
    payment: codes('Payment_Method__c'),
    monthly: nums('Monthly_Charges__c'),
    total: nums('Total_Charges__c'),
    churned: codes('Churned__c'),
  };
}

// Picklist codes are 1-based positions in account-fields.ts `values`; checked at start-up below.
const YES = 1, NO = 2, NO_SERVICE = 3;
const DSL = 1, FIBER = 2, NO_INTERNET = 3;
const MONTH_TO_MONTH = 1, ONE_YEAR = 2, TWO_YEAR = 3;
const E_CHECK = 1, MAILED_CHECK = 2;
/** Per add-on: probability of "Yes" for DSL and fiber customers, and its effect on churn odds. */
const ADD_ONS = [
  { dsl: 0.48, fiber: 0.3, churn: -0.45, price: 5 }, // Online security
  { dsl: 0.44, fiber: 0.42, churn: -0.15, price: 5 }, // Online backup
  { dsl: 0.4, fiber: 0.47, churn: -0.1, price: 5 }, // Device protection
  { dsl: 0.47, fiber: 0.3, churn: -0.4, price: 5 }, // Tech support
  { dsl: 0.33, fiber: 0.62, churn: 0.1, price: 10 }, // Streaming TV
  { dsl: 0.33, fiber: 0.63, churn: 0.1, price: 10 }, // Streaming movies
];

function assertCodes(): void {
  const expect = (field: string, values: string[]) => {
    const actual = findField(field)?.values ?? [];
    if (values.some((v, i) => actual[i] !== v)) throw new Error(`generator: ${field} picklist values changed in account-fields.ts; update the generator`);
  };
  expect('Online_Security__c', ['Yes', 'No', 'No internet service']);
  expect('Multiple_Lines__c', ['Yes', 'No', 'No phone service']);
  expect('Internet_Service__c', ['DSL', 'Fiber optic', 'No']);
  expect('Contract_Type__c', ['Month-to-month', 'One year', 'Two year']);
  expect('Payment_Method__c', ['Electronic check', 'Mailed check', 'Bank transfer (automatic)', 'Credit card (automatic)']);
}

/** Fills every input and label column of `store` from `seed`. Outputs stay null. */
export function populateAccounts(store: AccountStore, seed: number, drift = 0): void {
  assertCodes();
  if (!(drift >= 0 && drift <= 1)) throw new RangeError(`drift must be between 0 and 1, got ${drift}`);
  const c = columns(store);
  const D = DRIFT_AT_FULL;
  const contractMix = [0.55, 0.21, 0.24].map((p, i) => p + drift * D.contractMix[i]!);
  const monthScale = 17 * (1 + drift * D.monthToMonthTenureScale);
  const oneYearMean = 42 + drift * D.oneYearTenureMean;
  const twoYearMean = 58 + drift * D.twoYearTenureMean;
  const intercept = CHURN_INTERCEPT + drift * D.churnIntercept;
  for (let row = 0; row < store.size; row++) {
    const r = new Rng(seed, row + 1);
    const senior = r.chance(0.16);
    const partner = r.chance(0.48);
    const dependents = r.chance(partner ? 0.53 : 0.1);
    const contract = MONTH_TO_MONTH + r.pick(contractMix);
    let tenure: number;
    if (r.chance(0.0015)) tenure = 0; // brand-new customers: no bill yet, TotalCharges blank
    else if (contract === MONTH_TO_MONTH) tenure = Math.min(72, 1 + Math.floor(-Math.log(1 - r.next()) * monthScale));
    else if (contract === ONE_YEAR) tenure = Math.max(1, Math.min(72, Math.round(oneYearMean + r.normal() * 17)));
    else tenure = Math.max(1, Math.min(72, Math.round(twoYearMean + r.normal() * 14)));
    const phone = r.chance(0.9);
    const internet = DSL + r.pick([0.34, 0.44, 0.22]);
    const multipleLines = !phone ? NO_SERVICE : r.chance(internet === FIBER ? 0.6 : 0.35) ? YES : NO;
    const paperless = r.chance(internet === FIBER ? 0.75 : internet === DSL ? 0.55 : 0.3);
    const payment =
      E_CHECK + r.pick(contract === MONTH_TO_MONTH ? [0.48, 0.2, 0.16, 0.16] : [0.16, 0.25, 0.3, 0.29]);

    let monthly = (phone ? 20 : 0) + (multipleLines === YES ? 5 : 0);
    let z = intercept;
    if (internet === DSL) monthly += 25;
    else if (internet === FIBER) {
      monthly += 45;
      z += 0.9;
    } else z -= 1.2;
    for (let k = 0; k < ADD_ONS.length; k++) {
      const addOn = ADD_ONS[k]!;
      let code = NO_SERVICE;
      if (internet !== NO_INTERNET) {
        const yes = r.chance(internet === FIBER ? addOn.fiber : addOn.dsl);
        code = yes ? YES : NO;
        if (yes) {
          monthly += addOn.price;
          z += addOn.churn;
        }
      }
      c.addOns[k]![row] = code;
    }
    monthly = Math.min(118.75, Math.max(18.25, round2(monthly + r.normal() * 1.5)));
    const total = tenure === 0 ? Number.NaN : round2(Math.max(monthly, tenure * monthly * (1 + r.normal() * 0.04)));

    z += contract === MONTH_TO_MONTH ? 1.1 : contract === TWO_YEAR ? -1.2 : 0;
    z += payment === E_CHECK ? 0.6 : payment === MAILED_CHECK ? 0 : -0.2;
    z += -0.035 * tenure + 0.008 * (monthly - 65);
    z += (senior ? 0.3 : 0) + (paperless ? 0.35 : 0) + (partner ? -0.05 : 0) + (dependents ? -0.2 : 0);

    c.gender[row] = 1 + (r.chance(0.5) ? 1 : 0);
    c.senior[row] = senior ? 1 : 0;
    c.partner[row] = partner ? 1 : 0;
    c.dependents[row] = dependents ? 1 : 0;
    c.tenure[row] = tenure;
    c.phone[row] = phone ? 1 : 0;
    c.multipleLines[row] = multipleLines;
    c.internet[row] = internet;
    c.contract[row] = contract;
    c.paperless[row] = paperless ? 1 : 0;
    c.payment[row] = payment;
    c.monthly[row] = monthly;
    c.total[row] = total;
    c.churned[row] = r.chance(sigmoid(z)) ? 1 : 0;
  }
}
