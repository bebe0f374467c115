import { describe, expect, it } from 'vitest';
import { resolveOptions } from '../../src/emulator/options.js';
import { EmulatorState } from '../../src/emulator/state.js';
import { EMULATED_FIELDS } from '../../src/emulator/schema.js';
import { ACCOUNT_FIELDS } from '../../src/core/account-fields.js';
import { canonicalId15, idSuffix, to18 } from '../../src/emulator/ids.js';

function org(accounts: number, seed: number): EmulatorState {
  return new EmulatorState(resolveOptions({ accounts, seed }));
}

function rows(state: EmulatorState): Array<Record<string, unknown>> {
  const out = [];
  for (let row = 0; row < state.store.size; row++) {
    const r: Record<string, unknown> = {};
    for (const f of EMULATED_FIELDS) r[f.name] = state.store.get(row, f);
    out.push(r);
  }
  return out;
}

describe('emulator: synthetic Accounts', () => {
  const data = rows(org(20_000, 1));
  const rate = (pick: (r: Record<string, unknown>) => boolean) => {
    const group = data.filter(pick);
    return group.filter((r) => r.Churned__c === true).length / group.length;
  };

  it('when generated twice with one seed, then records and ids are identical; another seed differs', () => {
    const a = rows(org(300, 42));
    expect(rows(org(300, 42))).toEqual(a);
    expect(rows(org(300, 43))[0]).not.toEqual(a[0]);
  });

  it('when more accounts are generated, then the first records do not change', () => {
    expect(rows(org(1000, 5)).slice(0, 100)).toEqual(rows(org(100, 5)));
  });

  it('when generated, then every field of account-fields.ts is present and outputs start null', () => {
    for (const f of ACCOUNT_FIELDS) expect(Object.keys(data[0]!)).toContain(f.name);
    for (const name of ['Churn_Score__c', 'Churn_Risk__c', 'Churn_Top_Factors__c', 'Churn_Model_Version__c', 'Churn_Scored_At__c']) {
      expect(data.every((r) => r[name] === null)).toBe(true);
    }
    for (const f of ACCOUNT_FIELDS.filter((x) => x.values && x.role !== 'output')) {
      expect(data.every((r) => f.values!.includes(r[f.name] as string))).toBe(true);
    }
  });

  it('when generated, then ids are unique 18-character Account ids with a valid case suffix', () => {
    const ids = data.map((r) => r.Id as string);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids.slice(0, 500)) {
      expect(id).toMatch(/^001[A-Za-z0-9]{15}$/);
      expect(id.slice(15)).toBe(idSuffix(id.slice(0, 15)));
    }
    expect(new Set(data.map((r) => r.Customer_Id__c)).size).toBe(data.length);
    expect(data[0]!.Customer_Id__c).toMatch(/^\d{4}-[A-Z]{5}$/);
  });

  it('when generated, then about 26% churned, with the sample’s risk pattern', () => {
    const overall = rate(() => true);
    expect(overall).toBeGreaterThan(0.23);
    expect(overall).toBeLessThan(0.3);
    expect(rate((r) => r.Contract_Type__c === 'Month-to-month')).toBeGreaterThan(rate((r) => r.Contract_Type__c === 'Two year') * 5);
    expect(rate((r) => r.Internet_Service__c === 'Fiber optic')).toBeGreaterThan(rate((r) => r.Internet_Service__c === 'DSL'));
    expect(rate((r) => r.Payment_Method__c === 'Electronic check')).toBeGreaterThan(rate((r) => r.Payment_Method__c === 'Credit card (automatic)'));
    expect(rate((r) => (r.Tenure_Months__c as number) <= 6)).toBeGreaterThan(rate((r) => (r.Tenure_Months__c as number) >= 48) * 2);
  });

  it('when a customer has no internet or no phone, then the dependent picklists say so', () => {
    const addOns = ['Online_Security__c', 'Online_Backup__c', 'Device_Protection__c', 'Tech_Support__c', 'Streaming_TV__c', 'Streaming_Movies__c'];
    const wrong = data.filter(
      (r) => addOns.some((f) => (r[f] === 'No internet service') !== (r.Internet_Service__c === 'No')) || (r.Multiple_Lines__c === 'No phone service') !== (r.Phone_Service__c === false),
    );
    expect(wrong).toEqual([]);
    expect(data.some((r) => r.Internet_Service__c === 'No')).toBe(true);
  });

  it('when charges are generated, then TotalCharges ≈ tenure × MonthlyCharges (null at tenure 0)', () => {
    const wrong = data.filter((r) => {
      const tenure = r.Tenure_Months__c as number;
      const monthly = r.Monthly_Charges__c as number;
      if (monthly < 18.25 || monthly > 118.75) return true;
      if (tenure === 0) return r.Total_Charges__c !== null;
      return !(Math.abs((r.Total_Charges__c as number) / (tenure * monthly) - 1) < 0.25);
    });
    expect(wrong).toEqual([]);
    expect(data.some((r) => r.Tenure_Months__c === 0 && r.Total_Charges__c === null)).toBe(true);
  });
});

describe('emulator: record ids', () => {
  it('when an 18-character id is lower-cased, then its suffix restores the 15-character id', () => {
    const id = to18('001Dn00000AbCdE');
    expect(canonicalId15(id.toLowerCase())).toBe('001Dn00000AbCdE');
    expect(canonicalId15('001Dn00000AbCdE')).toBe('001Dn00000AbCdE');
    expect(canonicalId15('001Dn00000AbCdE!!!')).toBeUndefined();
    expect(canonicalId15('short')).toBeUndefined();
  });

  it('when the documented example id is converted, then the suffix matches Salesforce', () => {
    // Salesforce's help example: 001A0000006Vm9r → 001A0000006Vm9rIAC.
    expect(to18('001A0000006Vm9r')).toBe('001A0000006Vm9rIAC');
  });
});
